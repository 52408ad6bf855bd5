"""Finding and removing the demo: its shops are known by name, its logins by username."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Q

from agents.models import Agent
from chats.models import Conversation
from shops.models import AfterSalesEvent, Buyer, Footprint, Order, Shop

from .content import DEMO_SHOP_NAMES, SHOPS


def demo_usernames() -> list[str]:
    names = []
    for spec in SHOPS:
        names += [f"{spec.key}_owner", f"{spec.key}_lead"]
        names += [f"{spec.key}_{n:02d}" for n in range(1, len(spec.agent_names) + 1)]
    return names


def demo_shops_present() -> list[Shop]:
    return list(Shop.objects.filter(name__in=DEMO_SHOP_NAMES))


@transaction.atomic
def demo_reset() -> dict[str, int]:
    """Delete the demo shops and everything hanging off them; buyers only where no other shop refers to them."""
    shop_ids = list(Shop.objects.filter(name__in=DEMO_SHOP_NAMES).values_list("pk", flat=True))
    buyer_ids: set[int] = set()
    for model in (Conversation, Order, Footprint, AfterSalesEvent):
        buyer_ids.update(model.objects.filter(shop_id__in=shop_ids).values_list("buyer_id", flat=True))
    User = get_user_model()
    users = User.objects.filter(Q(agent__shop_id__in=shop_ids) | Q(username__in=demo_usernames(), agent__isnull=True))
    user_ids = list(users.values_list("pk", flat=True))
    # Agents protect their shop, and chats, messages, events and tasks protect their agents: first every shop-owned
    # row but the agents (whatever apps own them), then the logins (taking the agents along), then the shops.
    shop_owned = [
        rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": shop_ids})
        for rel in Shop._meta.related_objects
        if rel.one_to_many and rel.on_delete is models.CASCADE and rel.related_model is not Agent
    ]
    # An answered invite is protected by its rating: the ratings go first, then the chats take their invites along.
    from evaluations.models import Evaluation

    ratings = Evaluation.objects.filter(conversation__shop_id__in=shop_ids)
    deleted: dict[str, int] = defaultdict(int)
    for queryset in (ratings, *shop_owned, User.objects.filter(pk__in=user_ids), Shop.objects.filter(pk__in=shop_ids)):
        for label, count in queryset.delete()[1].items():
            deleted[label] += count
    orphans = Buyer.objects.filter(pk__in=buyer_ids).exclude(
        Q(conversations__isnull=False)
        | Q(orders__isnull=False)
        | Q(footprints__isnull=False)
        | Q(after_sales_events__isnull=False)
    )
    for label, count in Buyer.objects.filter(pk__in=list(orphans.values_list("pk", flat=True))).delete()[1].items():
        deleted[label] += count
    return {label: count for label, count in deleted.items() if count}

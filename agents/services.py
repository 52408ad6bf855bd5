"""Writes about agents (sub-accounts) and routing groups."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import InvalidInput
from shops.models import Shop

from .models import Agent, RoutingGroup


def _check_password(password: str, user) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from error


@transaction.atomic
def agent_create(
    *,
    shop: Shop,
    username: str,
    password: str,
    display_name: str,
    role: str = Agent._meta.get_field("role").default,
    capacity: int = Agent._meta.get_field("capacity").default,
    routing_groups: Iterable[RoutingGroup] = (),
) -> Agent:
    """Create the login and the sub-account together; either both exist afterwards or neither."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("This username is already taken."), field="username")
    user = User(username=username)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    agent = Agent(user=user, shop=shop, display_name=display_name, role=role, capacity=capacity)
    agent.full_clean()
    agent.save()
    agent.routing_groups.set(routing_groups)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, password: str | None = None, routing_groups=None, **fields) -> Agent:
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.full_clean()
    agent.save()
    if password:
        _check_password(password, agent.user)
        agent.user.set_password(password)
        agent.user.save(update_fields=["password"])
    if routing_groups is not None:
        agent.routing_groups.set(routing_groups)
    return agent


@transaction.atomic
def agent_set_status(*, agent: Agent, status: str) -> Agent:
    """Change an agent's status; a repeated status changes nothing (not even ``status_changed_at``)."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.status != status:
        agent.status = status
        agent.status_changed_at = timezone.now()
        agent.full_clean()
        agent.save(update_fields=["status", "status_changed_at"])
    return agent


def agent_recount_active_chats(*, shop_ids: Iterable[int] | None = None) -> int:
    """Rebuild the ``active_chats`` counters from conversations in one UPDATE; returns the rows updated."""
    from chats.choices import ConversationStatus
    from chats.models import Conversation

    count = (
        Conversation.objects.filter(agent=OuterRef("pk"), status=ConversationStatus.HUMAN)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    agents = Agent.objects.all() if shop_ids is None else Agent.objects.filter(shop_id__in=list(shop_ids))
    return agents.update(active_chats=Coalesce(Subquery(count), 0))


def _group_save(group: RoutingGroup, members) -> RoutingGroup:
    clash = RoutingGroup.objects.filter(shop=group.shop, name__iexact=group.name).exclude(pk=group.pk)
    if clash.exists():
        raise InvalidInput(_("A routing group with this name already exists in this shop."), field="name")
    if group.is_default:
        # One default group per shop: making this one the default takes the flag from the previous one.
        RoutingGroup.objects.filter(shop=group.shop, is_default=True).exclude(pk=group.pk).update(is_default=False)
    group.full_clean()
    group.save()
    if members is not None:
        group.members.set(members)
    return group


@transaction.atomic
def routing_group_create(*, members: Iterable[Agent] = (), **fields) -> RoutingGroup:
    return _group_save(RoutingGroup(**fields), list(members))


@transaction.atomic
def routing_group_update(*, group: RoutingGroup, members=None, **fields) -> RoutingGroup:
    group = RoutingGroup.objects.select_for_update().get(pk=group.pk)
    for name, value in fields.items():
        setattr(group, name, value)
    return _group_save(group, members)


@transaction.atomic
def routing_group_delete(*, group: RoutingGroup) -> None:
    group.delete()

"""The queue: each queued chat's place, as an annotation."""

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, When

from chats.choices import ConversationStatus
from chats.models import Conversation


def queue_position_expression():
    """Each queued chat's place in its shop's queue (1 = next), as an annotation: one list query, no query per row."""
    ahead = (
        Conversation.objects.filter(shop_id=OuterRef("shop_id"), status=ConversationStatus.QUEUED)
        .filter(Q(queued_at__lt=OuterRef("queued_at")) | Q(queued_at=OuterRef("queued_at"), pk__lte=OuterRef("pk")))
        .order_by()
        .values("shop_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Case(When(status=ConversationStatus.QUEUED, then=Subquery(ahead)), default=None, output_field=IntegerField())

"""Evaluation tasks: thin and idempotent (retries and late acks: ``backoffice.schedules.domain_task``).

No task was renamed here; the beat rows that name these tasks are declared in ``backoffice.schedules``.
"""

from datetime import date

from backoffice.schedules import domain_task
from chats.models import Conversation

from .services import (
    daily_metrics_rollup,
    daily_metrics_rollup_nightly,
    rating_invite_decide,
    rating_invites_expire_overdue,
)


@domain_task
def rating_invite_decide_task(conversation_id: int) -> int | None:
    """After a chat ends: the one random draw for a system invite; returns the invite id, if one was sent."""
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None  # deleted meanwhile: nothing to invite to
    invite = rating_invite_decide(conversation_id=conversation_id)
    return invite.pk if invite else None


@domain_task
def rating_invites_expire_overdue_task() -> int:
    """The beat sweep: mark invites past their 24 hours expired; returns how many changed."""
    return rating_invites_expire_overdue()


@domain_task
def daily_metrics_rollup_nightly_task(days_ago: int = 1) -> int:
    """Beat, nightly: every shop's local day ``today - days_ago`` (1 provisional, 2 and 4 final); rows written."""
    return daily_metrics_rollup_nightly(days_ago=days_ago)


@domain_task
def daily_metrics_rollup_task(day: str, shop_ids: list[int] | None = None) -> int:
    """Recompute one local day (ISO date) for some shops or all of them; idempotent. Returns rows written."""
    return daily_metrics_rollup(day=date.fromisoformat(day), shop_ids=shop_ids)

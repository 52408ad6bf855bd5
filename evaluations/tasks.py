"""Evaluation tasks: thin and idempotent."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from chats.models import Conversation

from .services import (
    daily_metrics_rollup,
    daily_metrics_rollup_nightly,
    rating_invite_decide,
    rating_invites_expire_overdue,
)

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}


@shared_task(acks_late=True, **RETRY)
def rating_invite_decide_task(conversation_id: int) -> int | None:
    """After a chat ends: the one random draw for a system invite; returns the invite id, if one was sent."""
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None  # deleted meanwhile: nothing to invite to
    invite = rating_invite_decide(conversation_id=conversation_id)
    return invite.pk if invite else None


@shared_task(acks_late=True, **RETRY)
def rating_invites_expire_overdue_task() -> int:
    """The beat sweep: mark invites past their 24 hours expired; returns how many changed."""
    return rating_invites_expire_overdue()


@shared_task(acks_late=True, **RETRY)
def daily_metrics_rollup_nightly_task(days_ago: int = 1) -> int:
    """Beat, nightly: every shop's local day ``today - days_ago`` (1 provisional, 2 and 4 final); rows written."""
    return daily_metrics_rollup_nightly(days_ago=days_ago)


@shared_task(acks_late=True, **RETRY)
def daily_metrics_rollup_task(day: str, shop_ids: list[int] | None = None) -> int:
    """Recompute one local day (ISO date) for some shops or all of them; idempotent. Returns rows written."""
    return daily_metrics_rollup(day=date.fromisoformat(day), shop_ids=shop_ids)

"""Evaluation tasks: thin and idempotent."""

from celery import shared_task
from django.db import OperationalError

from chats.models import Conversation

from .services import rating_invite_decide, rating_invites_expire_overdue

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

"""Celery tasks about agents: thin wrappers that take ids and call one service."""

from celery import shared_task
from django.db import OperationalError

from .services import agent_recount_active_chats


@shared_task(
    acks_late=True,
    # A dropped connection or a locked SQLite file is worth another try; a bug is not.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def agent_recount_active_chats_task(shop_ids: list[int] | None = None) -> int:
    """Rebuild the agents' ``active_chats`` counters (every shop, or ``shop_ids``); safe to repeat."""
    return agent_recount_active_chats(shop_ids=shop_ids)

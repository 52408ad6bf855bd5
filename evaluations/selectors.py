"""Read-side queries about ratings that other apps show (through ``chats.hooks``)."""

from django.db import connection

from .models import Evaluation


def latest_rating_sql(conversation_id_sql: str) -> str:
    """A scalar subquery of the score of the latest rating of the chat whose id is ``conversation_id_sql``."""
    table = connection.ops.quote_name(Evaluation._meta.db_table)
    return (
        f"SELECT e.score FROM {table} e WHERE e.conversation_id = {conversation_id_sql} "  # noqa: S608 -- model names
        "ORDER BY e.answered_at DESC, e.id DESC LIMIT 1"
    )

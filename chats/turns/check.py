"""Whether the stored turns (``Turn``) still equal what the messages give (``chats.turns.sql``): a consistency check."""

from __future__ import annotations

from django.db import connection

from ..models import Turn
from .sql import TURN_COLUMNS, ConversationFilter, chosen_conversation_ids_sql, stored_turn_rows_sql


def turns_out_of_sync(*, conversations: ConversationFilter | None = None) -> list[int]:
    """Ids of the chosen conversations whose stored turns differ from their messages' turns (empty: in sync)."""
    conversations = conversations or ConversationFilter()
    rows_sql, rows_params = stored_turn_rows_sql(conversations)
    ids_sql, ids_params = chosen_conversation_ids_sql(conversations)
    columns = ", ".join(TURN_COLUMNS)
    sql = f"""
WITH computed AS ({rows_sql}),
stored AS (SELECT {columns} FROM {Turn._meta.db_table} WHERE conversation_id IN ({ids_sql}))
SELECT conversation_id FROM (SELECT {columns} FROM computed EXCEPT SELECT {columns} FROM stored) missing
UNION
SELECT conversation_id FROM (SELECT {columns} FROM stored EXCEPT SELECT {columns} FROM computed) extra
ORDER BY conversation_id
"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*rows_params, *ids_params])
        return [row[0] for row in cursor.fetchall()]

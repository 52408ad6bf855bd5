"""Keeping the ``Turn`` table equal to the turn definition (``chats.turns.sql``) as messages are written.

The one writer of messages (``chats.lifecycle.messages``) calls these in its transaction: ``turns_record`` for a single
message, ``turns_rebuild`` over the conversations a bulk write (demo data, imports) touched. Daily metrics then read
the day's turns from the table (an index range) instead of recomputing every conversation's message stream.

The incremental rule follows from the definition: in the stream of buyer, agent and bot messages that are not
auto-replies, turn starts and responses alternate, so the conversation's last turn tells what a new message at
the end of the stream does. A buyer message starts a turn unless the last turn is still unanswered; a shop
message answers the last turn if it is unanswered, and does nothing otherwise. A message that lands *before* the
end of the stream (a history import, a late write with an earlier timestamp) changes earlier turns: the
conversation's turns are rebuilt from its messages.
"""

from __future__ import annotations

from django.db import connection, transaction

from ..choices import Sender
from ..models import Message, Turn
from .sql import (
    STREAM_SENDERS,
    TURN_COLUMNS,
    ConversationFilter,
    chosen_conversation_ids_sql,
    seconds_between_sql,
    stored_turn_rows_sql,
)


def _in_stream(message: Message) -> bool:
    return message.sender in STREAM_SENDERS and not message.is_auto_reply


@transaction.atomic
def turns_rebuild(*, conversations: ConversationFilter) -> int:
    """Replace the stored turns of the chosen conversations with the ones their messages give; returns how many."""
    ids_sql, ids_params = chosen_conversation_ids_sql(conversations)
    rows_sql, rows_params = stored_turn_rows_sql(conversations)
    table = Turn._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE conversation_id IN ({ids_sql})", ids_params)
        cursor.execute(f"INSERT INTO {table} ({', '.join(TURN_COLUMNS)}) {rows_sql}", rows_params)
        return cursor.rowcount


def turns_record(*, message: Message) -> None:
    """Bring the stored turns up to date with ``message``, just written (call inside the writer's transaction)."""
    if not _in_stream(message):
        return  # system and official messages and auto-replies neither start, break nor answer a turn
    adapt = connection.ops.adapt_datetimefield_value
    sent_at = adapt(message.sent_at)
    senders = ", ".join(["%s"] * len(STREAM_SENDERS))
    turns = Turn._meta.db_table
    with connection.cursor() as cursor:
        # One round trip: is a stream message after this one ((sent_at, id) order), and the conversation's last turn.
        cursor.execute(
            f"""SELECT EXISTS (
                    SELECT 1 FROM {Message._meta.db_table} m
                    WHERE m.conversation_id = %s AND m.sent_at >= %s AND (m.sent_at > %s OR m.id > %s)
                      AND m.sender IN ({senders}) AND NOT m.is_auto_reply
                ), t.id, t.number, t.responded_at
            FROM (SELECT 1 AS one) x
            LEFT JOIN (
                SELECT id, number, responded_at FROM {turns} WHERE conversation_id = %s ORDER BY number DESC LIMIT 1
            ) t ON 1 = 1""",
            [message.conversation_id, sent_at, sent_at, message.pk, *STREAM_SENDERS, message.conversation_id],
        )
        later, last_id, last_number, responded_at = cursor.fetchone()
        if later:
            turns_rebuild(conversations=ConversationFilter(conversation_ids=[message.conversation_id]))
            return
        unanswered = last_id is not None and responded_at is None
        if message.sender == Sender.BUYER:
            if not unanswered:  # a buyer message after a response (or the first one) starts a turn
                cursor.execute(
                    f"INSERT INTO {turns} (conversation_id, shop_id, number, started_at, responder_sender) "
                    "VALUES (%s, %s, %s, %s, '')",
                    [message.conversation_id, _shop_id(message), (last_number or 0) + 1, sent_at],
                )
            return
        if unanswered:  # the first shop message after a buyer run answers it
            seconds = seconds_between_sql("%s", "started_at")
            cursor.execute(
                f"UPDATE {turns} SET responded_at = %s, responder_sender = %s, responder_agent_id = %s, "
                f"response_seconds = {seconds} WHERE id = %s",
                [sent_at, message.sender, message.agent_id, sent_at, last_id],
            )


def _shop_id(message: Message) -> int:
    conversation = message.conversation  # cached on messages built with their conversation
    return conversation.shop_id

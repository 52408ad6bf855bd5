"""Turns and responses (DESIGN.md): the definition in SQL (``sql``), the stored ``Turn`` rows every message writer
keeps equal to it (``store``), and the check that they are (``check``)."""

from ..sql import fetch_dicts, id_set_sql, in_list_sql
from .check import turns_out_of_sync
from .sql import (
    STREAM_SENDERS,
    TURN_COLUMNS,
    ConversationFilter,
    chosen_conversation_ids_sql,
    conversation_summary_sql,
    seconds_between_sql,
    stored_turn_rows_sql,
    turn_rows_sql,
)
from .store import turns_rebuild, turns_record

__all__ = [
    "STREAM_SENDERS",
    "TURN_COLUMNS",
    "ConversationFilter",
    "chosen_conversation_ids_sql",
    "conversation_summary_sql",
    "fetch_dicts",
    "id_set_sql",
    "in_list_sql",
    "seconds_between_sql",
    "stored_turn_rows_sql",
    "turn_rows_sql",
    "turns_out_of_sync",
    "turns_rebuild",
    "turns_record",
]

"""What higher apps plug into chats, registered in their ``AppConfig.ready()``: chats imports none of them.

- ``on_conversation_ended(callback)``: ``callback(conversation_id)`` runs once the end of a chat has committed
  (the evaluations app enqueues its rating-invite draw). ``conversation_ended`` is called by the one service that
  ends chats, inside its transaction; nothing runs for a rolled-back end.
- ``rating_source(sql_for)``: ``sql_for(conversation_id_sql)`` gives a scalar SQL subquery of a chat's latest
  rating score (the evaluations app owns ratings); monitoring and exports show it. Without one, ratings are NULL.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

_ended_callbacks: list[Callable[[int], None]] = []
_rating_sql: list[Callable[[str], str]] = []


def on_conversation_ended(callback: Callable[[int], None]) -> None:
    """Register ``callback(conversation_id)`` to run after each chat's end commits (once per callback)."""
    if callback not in _ended_callbacks:
        _ended_callbacks.append(callback)


def conversation_ended(conversation_id: int) -> None:
    """Schedule every registered callback for after the current transaction commits."""
    for callback in _ended_callbacks:
        transaction.on_commit(lambda callback=callback: callback(conversation_id))


def rating_source(sql_for: Callable[[str], str]) -> None:
    """Register the SQL of a chat's latest rating (the last registration wins)."""
    _rating_sql[:] = [sql_for]


def latest_rating_sql(conversation_id_sql: str) -> str:
    """A scalar subquery of the latest rating score of the chat whose id is ``conversation_id_sql`` (or NULL)."""
    if not _rating_sql:
        return "NULL"
    return f"({_rating_sql[0](conversation_id_sql)})"

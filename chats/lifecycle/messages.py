"""The one writer of ``Message`` rows: every message stored anywhere goes through here, and so keeps its turns.

``message_write`` stores one message and brings the chat's stored turns up to date in the same transaction
(``chats.turns.store.turns_record``); ``messages_bulk_write`` is the bulk path (demo data, imports, benchmarks): it
inserts many messages at once and rebuilds the turns of the chats they touched. Nothing else calls
``Message.objects.create`` or ``bulk_create`` (``tests/chats/lifecycle/test_message_writer.py`` checks the tree), so no
writer can forget the turns the daily metrics read.

Being the one writer, it is also where ``message.created`` is emitted, in the caller's transaction, so every path that
stores a message (buyers, agents, the assistant, auto-replies, system texts, rating cards, bulk writes) announces it
exactly once. History is not announced: a message written with ``history=True`` (an integration importing past chats,
``message_create(history=True)``, or a bulk import) is past data that nobody is waiting for, so it emits nothing; its
chat's live changes afterwards emit as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import transaction

from events.outbox import EventDraft, events_emit

from ..models import Conversation, Message
from ..payloads import message_created
from ..turns.sql import STREAM_SENDERS, ConversationFilter
from ..turns.store import turns_rebuild, turns_record


def message_write(
    *,
    conversation: Conversation,
    sender: str,
    body: str,
    sent_at: datetime,
    agent_id: int | None = None,
    is_auto_reply: bool = False,
    flags: Sequence[str] = (),
    validate: bool = False,
    history: bool = False,
    events: list[EventDraft] | None = None,
) -> Message:
    """Store one message of ``conversation`` and keep its turns (call inside the caller's transaction).

    ``validate`` runs the model's validation first (input that comes from outside); the services' own messages
    (greetings, queue texts, auto-replies, rating cards) are known to be valid. Its ``message.created`` is emitted at
    once, or appended to ``events`` for the caller to emit with its own in one INSERT; ``history`` emits none.
    """
    message = Message(
        conversation=conversation,
        sender=sender,
        agent_id=agent_id,
        body=body,
        sent_at=sent_at,
        is_auto_reply=is_auto_reply,
        flags=list(flags),
    )
    if validate:
        message.full_clean()
    message.save()
    turns_record(message=message)
    if not history:
        draft = message_created(message, conversation)
        if events is None:
            events_emit([draft])
        else:
            events.append(draft)
    return message


class BulkWriteResult(NamedTuple):
    messages: list[Message]
    turns: int  # the stored turns of the chats written to, after the rebuild (0 when none needed one)


@transaction.atomic
def messages_bulk_write(
    *,
    messages: Iterable[Message],
    conversations: ConversationFilter | None = None,
    batch_size: int = 1000,
    history: bool = False,
) -> BulkWriteResult:
    """Insert ``messages`` (unsaved, each naming its conversation) and rebuild the turns of the chats they touch.

    ``conversations`` may name those chats more cheaply than their ids (e.g. a shop's); by default the chats of the
    messages are rebuilt. Messages outside the turn stream only (system cards) leave every turn as it was.
    Each message's ``message.created`` goes out with the others, one INSERT per ``batch_size``; ``history`` (an
    import of past chats) emits none.
    """
    rows = list(messages)
    Message.objects.bulk_create(rows, batch_size=batch_size)
    if not history:
        _announce(rows, batch_size)
    touched = sorted({m.conversation_id for m in rows if m.sender in STREAM_SENDERS and not m.is_auto_reply})
    if not touched:
        return BulkWriteResult(rows, 0)
    turns = turns_rebuild(conversations=conversations or ConversationFilter(conversation_ids=touched))
    return BulkWriteResult(rows, turns)


def _announce(rows: list[Message], batch_size: int) -> None:
    """``message.created`` for each of ``rows`` (stored), from their chats in memory where the rows carry them; the
    chats of the others are read in one query."""
    if not rows:
        return
    field = Message._meta.get_field("conversation")
    chats = {m.conversation_id: m.conversation for m in rows if field.is_cached(m)}
    missing = {m.conversation_id for m in rows} - chats.keys()
    if missing:
        chats |= Conversation.objects.only("pk", "shop_id", "agent_id").in_bulk(missing)
    drafts = [message_created(m, chats[m.conversation_id]) for m in rows]
    for start in range(0, len(drafts), batch_size):
        events_emit(drafts[start : start + batch_size])

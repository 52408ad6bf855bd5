"""One function writes ``Message`` rows (``chats.lifecycle.messages``), and what it writes keeps the stored turns."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chats.choices import Sender
from chats.lifecycle.messages import message_write, messages_bulk_write
from chats.models import Message, Turn
from chats.turns import ConversationFilter, turns_out_of_sync
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory

ROOT = Path(__file__).resolve().parents[3]
APPS = ("backoffice", "shops", "events", "agents", "chats", "evaluations", "demo")
WRITER = Path("chats/lifecycle/messages.py")
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "bulk_update"}
T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def message_writes(source: str) -> list[int]:
    """Lines of ``Message.objects.<write>(...)`` calls (and ``Message._default_manager``/``_base_manager``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES):
            continue
        manager = node.func.value
        if (
            isinstance(manager, ast.Attribute)
            and manager.attr in ("objects", "_default_manager", "_base_manager")
            and isinstance(manager.value, ast.Name)
            and manager.value.id == "Message"
        ):
            lines.append(node.lineno)
    return lines


def test_message_writer_finds_a_write_behind_its_back():
    source = "def f():\n    Message.objects.bulk_create(rows)\n    Message.objects.filter(pk=1).exists()\n"
    assert message_writes(source) == [2]


def test_message_writer_is_the_only_code_that_writes_messages():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")) if (ROOT / app).is_dir() else []:
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative == WRITER:
                continue
            offenders += [f"{relative}:{line}" for line in message_writes(path.read_text(encoding="utf-8"))]
    assert offenders == [], "write messages through chats.lifecycle.messages: " + ", ".join(offenders)
    assert message_writes((ROOT / WRITER).read_text(encoding="utf-8")), "the writer itself writes"


@pytest.mark.django_db
def test_message_write_answers_the_open_turn_of_its_chat(shop):
    agent = AgentFactory(shop=shop)
    chat = ConversationFactory(shop=shop, started_at=T0)
    message_write(conversation=chat, sender=Sender.BUYER, body="在吗", sent_at=T0)
    message_write(conversation=chat, sender=Sender.BUYER, body="?", sent_at=T0 + timedelta(seconds=20))
    message_write(conversation=chat, sender=Sender.SYSTEM, body="排队中", sent_at=T0 + timedelta(seconds=30))
    message_write(
        conversation=chat, sender=Sender.AGENT, agent_id=agent.pk, body="在的", sent_at=T0 + timedelta(seconds=90)
    )
    # One turn, from the first buyer message; the system message neither breaks nor answers it.
    [turn] = Turn.objects.filter(conversation=chat)
    assert (turn.number, turn.started_at, turn.responder_sender) == (1, T0, Sender.AGENT)
    assert turn.response_seconds == 90.0


@pytest.mark.django_db
def test_messages_bulk_write_rebuilds_the_turns_of_the_chats_it_wrote(shop):
    first, second = ConversationFactory(shop=shop, started_at=T0), ConversationFactory(shop=shop, started_at=T0)
    at = [T0 + timedelta(seconds=s) for s in (0, 40, 100, 250)]
    rows = [
        Message(conversation=first, sender=Sender.BUYER, body="a", sent_at=at[0]),
        Message(conversation=first, sender=Sender.BOT, body="b", sent_at=at[1]),
        Message(conversation=first, sender=Sender.BUYER, body="c", sent_at=at[2]),
        Message(conversation=second, sender=Sender.BUYER, body="d", sent_at=at[0]),
        Message(conversation=second, sender=Sender.BOT, body="e", sent_at=at[3]),
    ]
    result = messages_bulk_write(messages=rows)
    assert (len(result.messages), result.turns) == (5, 3)  # first: answered in 40 s, then open; second: 250 s
    turns = Turn.objects.order_by("conversation_id", "number").values_list("conversation_id", "response_seconds")
    assert list(turns) == [(first.pk, 40.0), (first.pk, None), (second.pk, 250.0)]
    assert turns_out_of_sync(conversations=ConversationFilter(shop_ids=[shop.pk])) == []


@pytest.mark.django_db
def test_messages_bulk_write_of_cards_only_touches_no_turn(shop):
    chat = ConversationFactory(shop=shop, started_at=T0)
    message_write(conversation=chat, sender=Sender.BUYER, body="在吗", sent_at=T0)
    card = Message(conversation=chat, sender=Sender.SYSTEM, body="请评价", sent_at=T0 + timedelta(seconds=5))
    assert messages_bulk_write(messages=[card]).turns == 0
    assert list(Turn.objects.filter(conversation=chat).values_list("number", "responded_at")) == [(1, None)]

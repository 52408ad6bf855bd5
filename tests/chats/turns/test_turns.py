"""chats.turns: turns and responses per DESIGN.md, checked against hand-computed chats on SQLite and PostgreSQL."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chats.choices import ConversationStatus
from chats.models import Conversation, Message, Turn
from chats.selectors import turns_out_of_sync
from chats.turns import ConversationFilter, conversation_summary_sql, fetch_dicts, turn_rows_sql
from chats.turns.store import turns_rebuild
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def chat(shop, script, *, agent=None, started_at=T0):
    """Build a chat from ``(seconds after T0, sender[, "auto"])`` steps; agent messages are ``agent``'s."""
    conversation = ConversationFactory(shop=shop, started_at=started_at, status=ConversationStatus.BOT)
    for step in script:
        offset, sender = step[0], step[1]
        MessageFactory(
            conversation=conversation,
            sender=sender,
            agent=agent if sender == "agent" else None,
            body="👍" if "emoji" in step else f"{sender} at {offset}",
            is_auto_reply="auto" in step,
            sent_at=started_at + timedelta(seconds=offset),
        )
    return conversation


def turns_of(conversation):
    sql, params = turn_rows_sql(ConversationFilter(conversation_ids=[conversation.pk]))
    rows = fetch_dicts(sql + " ORDER BY turn_no", params)
    return [(r["turn_no"], r["responder_sender"], r["response_seconds"]) for r in rows]


def summary_of(conversation):
    sql, params = conversation_summary_sql(ConversationFilter(conversation_ids=[conversation.pk]))
    rows = fetch_dicts(sql, params)
    if not rows:
        return None
    row = rows[0]
    return (row["turns"], row["unanswered_turns"], row["first_response_seconds"], row["max_response_seconds"])


def test_auto_replies_system_and_official_messages_are_skipped(shop):
    agent = AgentFactory(shop=shop)
    conversation = chat(
        shop,
        [
            (0, "official"),  # needs no reply, starts nothing
            (10, "buyer"),  # turn 1 starts
            (15, "agent", "auto"),  # an auto-reply never answers
            (20, "system"),  # nor does a system message, and it does not break the turn
            (30, "buyer"),  # still turn 1
            (70, "agent"),  # answers turn 1: 70 - 10 = 60 s
            (80, "official"),
            (100, "buyer"),  # turn 2
            (250, "agent"),  # 150 s
        ],
        agent=agent,
    )
    assert turns_of(conversation) == [(1, "agent", 60.0), (2, "agent", 150.0)]
    assert summary_of(conversation) == (2, 0, 60.0, 150.0)


def test_emoji_and_bot_replies_count_as_responses(shop):
    agent = AgentFactory(shop=shop)
    conversation = chat(
        shop,
        [(0, "buyer"), (2, "bot"), (60, "buyer"), (61, "buyer"), (240, "agent", "emoji"), (241, "agent")],
        agent=agent,
    )
    rows = fetch_dicts(*turn_rows_sql(ConversationFilter(conversation_ids=[conversation.pk])))
    rows.sort(key=lambda r: r["turn_no"])
    assert [(r["responder_sender"], r["response_seconds"], r["responder_agent_id"]) for r in rows] == [
        ("bot", 2.0, None),
        ("agent", 180.0, agent.pk),  # the emoji at 240 answers the turn that started at 60
    ]
    assert summary_of(conversation) == (2, 0, 2.0, 180.0)


def test_several_buyer_messages_are_one_turn_timed_from_the_first(shop):
    conversation = chat(shop, [(0, "buyer"), (40, "buyer"), (90, "buyer"), (100, "bot"), (101, "bot")])
    assert turns_of(conversation) == [(1, "bot", 100.0)]
    assert summary_of(conversation) == (1, 0, 100.0, 100.0)


def test_last_turn_unanswered(shop):
    conversation = chat(
        shop,
        [(0, "buyer"), (30, "bot"), (200, "buyer"), (210, "agent", "auto"), (220, "system")],
        agent=AgentFactory(shop=shop),
    )
    assert turns_of(conversation) == [(1, "bot", 30.0), (2, None, None)]
    assert summary_of(conversation) == (2, 1, 30.0, 30.0)


def test_unanswered_only_turn_has_no_first_response(shop):
    conversation = chat(shop, [(0, "buyer"), (5, "buyer")])
    assert summary_of(conversation) == (1, 1, None, None)


def test_shop_messages_before_the_buyer_speaks_are_not_responses(shop):
    conversation = chat(shop, [(0, "bot"), (1, "bot"), (50, "buyer"), (75, "bot")])
    assert turns_of(conversation) == [(1, "bot", 25.0)]


def test_conversation_without_buyer_turns_has_no_rows(shop):
    conversation = chat(shop, [(0, "bot"), (3, "official")])
    assert turns_of(conversation) == []
    assert summary_of(conversation) is None


def test_ties_in_sent_at_are_broken_by_id(shop):
    """Same timestamp: the row inserted first (lower id) comes first, so a reply saved after the buyer answers."""
    agent = AgentFactory(shop=shop)
    # buyer (id n) then agent (id n+1) at the same instant: the agent answers in 0 s.
    first = chat(shop, [(0, "buyer"), (0, "agent")], agent=agent)
    assert turns_of(first) == [(1, "agent", 0.0)]
    # agent (id n) then buyer (id n+1) at the same instant: the agent message comes first and answers nothing.
    second = chat(shop, [(0, "agent"), (0, "buyer"), (9, "agent")], agent=agent)
    assert turns_of(second) == [(1, "agent", 9.0)]


def test_fractional_seconds_are_exact(shop):
    conversation = chat(shop, [(0, "buyer"), (179.5, "bot"), (200.25, "buyer"), (380.5, "bot")])
    assert turns_of(conversation) == [(1, "bot", 179.5), (2, "bot", 180.25)]


def test_filters_select_conversations_by_shop_start_queryset_and_raw_condition(shop, other_shop):
    mine_early = chat(shop, [(0, "buyer"), (10, "bot")])
    mine_late = chat(shop, [(0, "buyer"), (20, "bot")], started_at=T0 + timedelta(days=1))
    theirs = chat(other_shop, [(0, "buyer"), (30, "bot")])

    def ids(conversations):
        return sorted(r["conversation_id"] for r in fetch_dicts(*conversation_summary_sql(conversations)))

    assert ids(ConversationFilter(shop_ids=[shop.pk])) == sorted([mine_early.pk, mine_late.pk])
    assert ids(ConversationFilter(shop_ids=[])) == []
    assert ids(ConversationFilter(started_from=T0 + timedelta(hours=1))) == [mine_late.pk]
    assert ids(ConversationFilter(started_before=T0 + timedelta(hours=1))) == sorted([mine_early.pk, theirs.pk])
    assert ids(ConversationFilter(conversations=Conversation.objects.filter(shop=other_shop))) == [theirs.pk]
    assert ids(ConversationFilter(where="c.shop_id = %s AND c.id <> %s", params=(shop.pk, mine_late.pk))) == [
        mine_early.pk
    ]


def test_turn_rows_compose_inside_a_larger_aggregate(shop):
    """The metrics rollup wraps the row source in ``WITH turns AS (...)``; the shape must allow it."""
    chat(shop, [(0, "buyer"), (100, "bot"), (300, "buyer"), (500, "bot")])  # 100 s and 200 s
    chat(shop, [(0, "buyer"), (50, "bot"), (60, "buyer")])  # 50 s, then unanswered
    turns_sql, params = turn_rows_sql(ConversationFilter(shop_ids=[shop.pk]))
    sql = (
        f"WITH turns AS ({turns_sql}) "
        "SELECT shop_id, COUNT(*) AS turns, COUNT(responded_at) AS answered, "
        "SUM(CASE WHEN turn_no = 1 AND response_seconds <= 180 THEN 1 ELSE 0 END) AS first_within_3m, "
        "AVG(response_seconds) AS avg_seconds FROM turns GROUP BY shop_id"
    )
    [row] = fetch_dicts(sql, params)
    assert (row["turns"], row["answered"], row["first_within_3m"]) == (4, 3, 2)
    assert row["avg_seconds"] == pytest.approx((100 + 200 + 50) / 3)


@pytest.mark.postgres
def test_plan_reaches_messages_by_conversation_index_not_a_table_scan(shop):
    """On PostgreSQL a per-shop turn query looks messages up by conversation id (an index), per conversation."""
    from django.db import connection

    for _ in range(3):
        chat(shop, [(0, "buyer"), (10, "bot")])
    sql, params = turn_rows_sql(ConversationFilter(shop_ids=[shop.pk], started_from=T0 - timedelta(days=1)))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "Index Cond: (conversation_id = c.id)" in plan


# --- stored turns (chats.turns.store) ---------------------------------------------------------------------------

STREAM = ["buyer", "agent", "bot", "system", "official"]


def stored_turns(conversation):
    return [
        (t.number, t.started_at, t.responded_at, t.responder_sender, t.responder_agent_id, t.response_seconds)
        for t in Turn.objects.filter(conversation=conversation).order_by("number")
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 600), st.sampled_from(STREAM), st.booleans()), min_size=1, max_size=12))
def test_recorded_turns_equal_the_definition_whatever_the_order_messages_arrive_in(shop, steps):
    """Messages written one by one, in any order of ``sent_at`` (late and history writes included), leave the
    stored turns exactly as ``turn_rows_sql`` computes them from all the messages."""
    agent = AgentFactory(shop=shop)
    conversation = ConversationFactory(shop=shop, started_at=T0)
    for offset, sender, auto in steps:
        MessageFactory(  # the factory records the turns, as every writer of messages does
            conversation=conversation,
            sender=sender,
            agent=agent if sender == "agent" else None,
            is_auto_reply=auto and sender == "agent",
            sent_at=T0 + timedelta(seconds=offset),
        )
    assert turns_out_of_sync(conversations=ConversationFilter(conversation_ids=[conversation.pk])) == []
    numbers = [number for number, *_ in stored_turns(conversation)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_message_written_before_the_end_of_the_stream_renumbers_the_turns(shop):
    agent = AgentFactory(shop=shop)
    conversation = chat(shop, [(0, "buyer"), (30, "agent"), (100, "buyer"), (160, "agent")], agent=agent)
    assert [(n, s) for n, _, _, s, _, _ in stored_turns(conversation)] == [(1, "agent"), (2, "agent")]
    MessageFactory(conversation=conversation, sender="agent", agent=agent, sent_at=T0 + timedelta(seconds=10))
    MessageFactory(conversation=conversation, sender="buyer", sent_at=T0 + timedelta(seconds=20))
    # buyer 0 | agent 10 (10 s) | buyer 20 | agent 30 (10 s) | buyer 100 | agent 160 (60 s)
    assert [(n, seconds) for n, *_, seconds in stored_turns(conversation)] == [(1, 10.0), (2, 10.0), (3, 60.0)]


def test_turns_rebuild_derives_the_turns_of_bulk_written_messages_and_is_idempotent(shop):
    agent = AgentFactory(shop=shop)
    conversation = ConversationFactory(shop=shop, started_at=T0)
    Message.objects.bulk_create(
        [
            Message(conversation=conversation, sender="buyer", body="?", sent_at=T0),
            Message(
                conversation=conversation, sender="agent", agent=agent, body="!", sent_at=T0 + timedelta(seconds=42)
            ),
            Message(conversation=conversation, sender="buyer", body="?", sent_at=T0 + timedelta(seconds=50)),
        ]
    )
    assert turns_out_of_sync() == [conversation.pk]  # bulk writes skip turns_record ...
    for _ in range(2):  # ... until their writer rebuilds them, as often as it likes
        assert turns_rebuild(conversations=ConversationFilter(shop_ids=[shop.pk])) == 2
    assert turns_out_of_sync() == []
    assert [(n, sender, agent_id, seconds) for n, _, _, sender, agent_id, seconds in stored_turns(conversation)] == [
        (1, "agent", agent.pk, 42.0),
        (2, "", None, None),
    ]


def test_system_official_and_auto_reply_messages_write_no_turn(shop):
    agent = AgentFactory(shop=shop)
    conversation = chat(shop, [(0, "system"), (5, "official"), (10, "agent", "auto")], agent=agent)
    assert stored_turns(conversation) == []


def test_rebuild_turns_command_checks_and_repairs(shop):
    conversation = ConversationFactory(shop=shop, started_at=T0)
    Message.objects.bulk_create([Message(conversation=conversation, sender="buyer", body="?", sent_at=T0)])
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("rebuild_turns", "--check", "--shop", str(shop.pk), stdout=out)
    assert exit_.value.code == 1
    assert f"1 conversation(s) with turns out of date: [{conversation.pk}]" in out.getvalue()
    call_command("rebuild_turns", stdout=out)
    assert "1 turns stored" in out.getvalue()
    call_command("rebuild_turns", "--check", stdout=out)
    assert "0 conversation(s)" in out.getvalue()
    with pytest.raises(CommandError, match="No shop with id 999999"):
        call_command("rebuild_turns", "--shop", "999999")

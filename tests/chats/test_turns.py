"""chats.turns: turns and responses per DESIGN.md, checked against hand-computed chats on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from chats.choices import ConversationStatus
from chats.models import Conversation
from chats.turns import ConversationFilter, conversation_summary_sql, fetch_dicts, turn_rows_sql
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

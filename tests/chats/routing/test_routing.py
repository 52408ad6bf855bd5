"""Routing of DESIGN.md: transfer outcomes, groups, the queue, manual transfers, seat claims."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.choices import AgentStatus, GroupPhase
from agents.models import Agent
from backoffice.errors import Conflict
from chats import services
from chats.choices import ClosedBy, ConversationStatus, EventKind, Sender
from chats.models import Conversation, ServiceEvent
from chats.routing.agent_changes import agent_set_status, agent_update
from shops.choices import ServicePhase
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.helpers import active, bodies, start
from tests.shops.factories import BuyerFactory, OrderFactory

pytestmark = pytest.mark.django_db


# --- Transfer outcomes and routing -----------------------------------------------------------------------------------


def test_assigned_to_fewest_active_chats_then_idle_longest(shop):
    now = timezone.now()
    busier = AgentFactory(shop=shop, capacity=5)
    Agent.objects.filter(pk=busier.pk).update(active_chats=2)
    recent = AgentFactory(shop=shop, capacity=5, last_assigned_at=now - timedelta(minutes=1))
    idle_longest = AgentFactory(shop=shop, capacity=5, last_assigned_at=now - timedelta(hours=1))
    result = services.transfer_to_human(conversation_id=start(shop).pk)
    assert (result.outcome, result.agent_id, result.queue_position) == ("assigned", idle_longest.pk, None)
    second = services.transfer_to_human(conversation_id=start(shop).pk)
    assert second.agent_id == recent.pk  # idle_longest now has 1 chat; recent has 0
    assert (active(busier), active(recent), active(idle_longest)) == (2, 1, 1)


def test_assignment_is_announced_and_recorded(shop):
    agent = AgentFactory(shop=shop, display_name="小王")
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.agent_id) == (ConversationStatus.HUMAN, agent.pk)
    assert conversation.assigned_at is not None and conversation.transfer_requested_at is not None
    assert bodies(conversation, Sender.SYSTEM) == ["Agent 小王 is now serving you."]
    kinds = list(ServiceEvent.objects.filter(conversation=conversation).order_by("pk").values_list("kind", flat=True))
    assert kinds == [EventKind.STARTED, EventKind.TRANSFER_REQUESTED, EventKind.ASSIGNED]


def test_clicks_after_success_start_nothing_new(shop):
    agent = AgentFactory(shop=shop)
    conversation = start(shop)
    first = services.transfer_to_human(conversation_id=conversation.pk)
    again = services.transfer_to_human(conversation_id=conversation.pk)
    assert (first.outcome, again.outcome, again.agent_id) == ("assigned", "already_assigned", agent.pk)
    assert active(agent) == 1
    assert ServiceEvent.objects.filter(conversation=conversation, kind=EventKind.ASSIGNED).count() == 1


def test_failed_offline_when_nobody_is_online(shop):
    AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    AgentFactory(shop=shop, status=AgentStatus.AWAY)
    conversation = start(shop)
    result = services.transfer_to_human(conversation_id=conversation.pk)
    assert (result.outcome, result.agent_id, result.queue_position) == ("failed_offline", None, None)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.LEFT_MESSAGE  # the buyer may leave a message
    assert bodies(conversation, Sender.BOT)[-1].startswith("No agent is online right now")


def test_queued_with_position_when_everyone_is_full(shop):
    full = AgentFactory(shop=shop, capacity=1)
    services.transfer_to_human(conversation_id=start(shop).pk)
    assert active(full) == 1
    positions = [services.transfer_to_human(conversation_id=start(shop).pk) for _ in range(3)]
    assert [(r.outcome, r.queue_position) for r in positions] == [("queued", 1), ("queued", 2), ("queued", 3)]
    third = Conversation.objects.filter(status=ConversationStatus.QUEUED).order_by("queued_at", "pk").last()
    assert bodies(third, Sender.BOT)[-1] == "All agents are busy. You are number 3 in the queue; please wait."
    again = services.transfer_to_human(conversation_id=third.pk)
    assert (again.outcome, again.queue_position) == ("queued", 3)  # a click while queued does not requeue


def test_failed_busy_when_everyone_is_full_and_queueing_is_off(shop):
    shop.queue_enabled = False
    shop.save()
    AgentFactory(shop=shop, capacity=0)
    conversation = start(shop)
    result = services.transfer_to_human(conversation_id=conversation.pk)
    assert result.outcome == "failed_busy"
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT
    assert bodies(conversation, Sender.BOT)[-1] == "All agents are busy right now. Please try again in a moment."


def test_busy_and_away_agents_get_no_new_chats(shop):
    AgentFactory(shop=shop, status=AgentStatus.BUSY)
    AgentFactory(shop=shop, status=AgentStatus.AWAY)
    online = AgentFactory(shop=shop)
    assert services.transfer_to_human(conversation_id=start(shop).pk).agent_id == online.pk


def test_phase_group_then_default_group_then_anyone(shop):
    pre, after, other = AgentFactory(shop=shop), AgentFactory(shop=shop, capacity=1), AgentFactory(shop=shop)
    default = AgentFactory(shop=shop, capacity=1)
    RoutingGroupFactory(shop=shop, name="售前", phase=GroupPhase.PRE_SALES, members=[pre])
    after_group = RoutingGroupFactory(shop=shop, name="售后", phase=GroupPhase.AFTER_SALES, members=[after])
    default_group = RoutingGroupFactory(
        shop=shop, name="默认", phase=GroupPhase.PRE_SALES, is_default=True, members=[default]
    )
    buyer = BuyerFactory()
    OrderFactory(shop=shop, buyer=buyer, paid_at=timezone.now() - timedelta(days=3))
    first = start(shop, buyer=buyer)
    assert first.phase == ServicePhase.AFTER_SALES
    services.transfer_to_human(conversation_id=first.pk)
    first.refresh_from_db()
    assert (first.agent_id, first.group_id) == (after.pk, after_group.pk)
    # The after-sales group is full: the default group serves; then anyone in the shop.
    second = start(shop, buyer=buyer)
    services.transfer_to_human(conversation_id=second.pk)
    second.refresh_from_db()
    assert second.agent_id in (pre.pk, default.pk)  # the default group is itself a pre-sales group here
    assert second.group_id == default_group.pk or second.agent_id == pre.pk
    Agent.objects.filter(pk__in=[pre.pk, default.pk]).update(capacity=0)
    third = start(shop, buyer=buyer)
    services.transfer_to_human(conversation_id=third.pk)
    third.refresh_from_db()
    assert (third.agent_id, third.group_id) == (other.pk, None)


def test_default_group_serves_when_the_phase_group_is_full(shop):
    after, default = AgentFactory(shop=shop, capacity=0), AgentFactory(shop=shop)
    AgentFactory(shop=shop)  # not in any group: only the last resort
    RoutingGroupFactory(shop=shop, phase=GroupPhase.PRE_SALES, members=[after])
    default_group = RoutingGroupFactory(shop=shop, phase=GroupPhase.AFTER_SALES, is_default=True, members=[default])
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert (conversation.agent_id, conversation.group_id) == (default.pk, default_group.pk)


def test_transfer_of_an_ended_chat_is_a_conflict(shop):
    conversation = start(shop)
    services.conversation_close(conversation_id=conversation.pk, closed_by=ClosedBy.BUYER)
    with pytest.raises(Conflict):
        services.transfer_to_human(conversation_id=conversation.pk)


# --- The queue ------------------------------------------------------------------------------------------------------


def _fill(shop, agent, queued=2):
    served = start(shop)
    services.transfer_to_human(conversation_id=served.pk)
    waiting = []
    for _ in range(queued):
        conversation = start(shop)
        services.transfer_to_human(conversation_id=conversation.pk)
        waiting.append(conversation)
    return served, waiting


def test_closing_a_chat_gives_the_seat_to_the_oldest_queued(shop):
    agent = AgentFactory(shop=shop, capacity=1)
    served, (oldest, younger) = _fill(shop, agent)
    services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.AGENT)
    oldest.refresh_from_db()
    younger.refresh_from_db()
    assert (oldest.status, oldest.agent_id, younger.status) == ("human", agent.pk, "queued")
    assert services.queue_position(younger) == 1
    assert active(agent) == 1


def test_an_agent_coming_online_takes_queued_chats(shop):
    agent = AgentFactory(shop=shop, capacity=1)
    _served, waiting = _fill(shop, agent)
    newcomer = AgentFactory(shop=shop, capacity=5, status=AgentStatus.OFFLINE)
    agent_set_status(agent=newcomer, status=AgentStatus.ONLINE)
    assert set(Conversation.objects.filter(agent=newcomer).values_list("pk", flat=True)) == {c.pk for c in waiting}
    assert active(newcomer) == 2


def test_raising_capacity_drains_the_queue(shop):
    agent = AgentFactory(shop=shop, capacity=1)
    _served, (oldest, younger) = _fill(shop, agent)
    agent_update(agent=agent, capacity=2)
    assert Conversation.objects.get(pk=oldest.pk).agent_id == agent.pk
    assert Conversation.objects.get(pk=younger.pk).status == ConversationStatus.QUEUED
    assert active(agent) == 2


def test_shop_without_bot_routes_at_once_and_queues_in_order(shop):
    shop.bot_enabled = False
    shop.save()
    agent = AgentFactory(shop=shop, capacity=1)
    first, second = start(shop), start(shop)
    assert (first.status, first.agent_id) == ("human", agent.pk)
    assert second.status == "queued"
    assert bodies(first, Sender.BOT) == []  # no assistant: no greeting


def test_queue_sweep_is_a_safety_net(shop):
    agent = AgentFactory(shop=shop, capacity=1)
    served, (oldest, _younger) = _fill(shop, agent)
    Conversation.objects.filter(pk=served.pk).update(status="ended", ended_at=timezone.now())
    Agent.objects.filter(pk=agent.pk).update(active_chats=0)  # a seat freed without the service (a crash)
    assert services.queue_sweep() == 1
    assert services.queue_sweep() == 0
    assert Conversation.objects.get(pk=oldest.pk).agent_id == agent.pk


# --- Manual transfers and closing ----------------------------------------------------------------------------------


def test_transfer_to_an_agent_moves_the_seat(shop):
    first, second = AgentFactory(shop=shop), AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    helper = second if conversation.agent_id == first.pk else first
    with pytest.raises(Conflict):
        services.conversation_transfer(conversation_id=conversation.pk, to_agent=second)  # offline
    agent_set_status(agent=second, status=AgentStatus.ONLINE)
    services.conversation_transfer(conversation_id=conversation.pk, to_agent=helper)
    conversation.refresh_from_db()
    assert conversation.agent_id == helper.pk
    assert sorted([active(first), active(second)]) == [0, 1]
    event = ServiceEvent.objects.get(conversation=conversation, kind=EventKind.TRANSFERRED)
    assert (event.agent_id, event.from_agent_id) == (helper.pk, first.pk)
    assert ServiceEvent.objects.filter(conversation=conversation, kind=EventKind.ASSIGNED).count() == 1


def test_transfer_to_a_group_picks_its_best_member(shop):
    mine = AgentFactory(shop=shop)
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    a, b = AgentFactory(shop=shop), AgentFactory(shop=shop)
    Agent.objects.filter(pk=a.pk).update(active_chats=3)
    group = RoutingGroupFactory(shop=shop, members=[a, b, mine])
    services.conversation_transfer(conversation_id=conversation.pk, to_group=group)
    conversation.refresh_from_db()
    assert (conversation.agent_id, conversation.group_id) == (b.pk, group.pk)
    assert (active(mine), active(a), active(b)) == (0, 3, 1)


def test_transfers_need_subaccounts(shop):
    AgentFactory(shop=shop)
    other = AgentFactory(shop=shop)
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    shop.subaccounts_enabled = False
    shop.save()
    with pytest.raises(Conflict):
        services.conversation_transfer(conversation_id=conversation.pk, to_agent=other)


def test_a_seat_claim_touches_exactly_one_agent(shop, other_shop):
    from chats.routing.seats import seat_claim

    mine = AgentFactory.create_batch(3, shop=shop)
    theirs = AgentFactory(shop=other_shop)
    seat = seat_claim(shop_id=shop.pk, group_ids=None, now=timezone.now())
    counts = dict(Agent.objects.values_list("pk", "active_chats"))
    assert counts == {**{a.pk: 0 for a in mine}, seat.agent.pk: 1, theirs.pk: 0}


def test_group_changes_reach_routing_at_once(shop):
    from chats.routing.agent_changes import routing_group_create, routing_group_update

    pre, after = AgentFactory(shop=shop), AgentFactory(shop=shop)
    Agent.objects.filter(pk=after.pk).update(active_chats=1)  # without groups, pre would win on load
    first = start(shop)
    services.transfer_to_human(conversation_id=first.pk)
    assert Conversation.objects.get(pk=first.pk).agent_id == pre.pk  # levels now cached for this shop
    group = routing_group_create(shop=shop, name="售前", phase=GroupPhase.AFTER_SALES, members=[after])
    routing_group_update(group=group, phase=GroupPhase.PRE_SALES)
    second = start(shop)
    services.transfer_to_human(conversation_id=second.pk)
    assert Conversation.objects.get(pk=second.pk).agent_id == after.pk

"""What a change to an agent or a routing group does to chats: the event log, the queue and the buyers waiting.

The agents app changes its own rows (``agents.services``) and knows nothing of chats; these services wrap those
writes in one transaction with their consequences, and the API and admin call these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents import services as agent_services
from agents.choices import AgentStatus
from agents.models import Agent, RoutingGroup

from ..choices import ConversationStatus, EventKind
from ..followup.auto_replies import auto_replies_on_status_change
from ..lifecycle.events import event_record
from ..models import Conversation
from .queue import queue_drain

routing_group_delete = agent_services.routing_group_delete  # no seat changes: nothing for chats to do
PRESENCE_SWEEP_BATCH = 100  # agents set offline per transaction (their rows stay locked until it commits)


def _offer_queue(agent: Agent) -> None:
    """An online agent's room goes to the shop's line: queued chats and left messages, oldest first (``.queue``)."""
    if agent.status == AgentStatus.ONLINE:
        queue_drain(shop_id=agent.shop_id)


@transaction.atomic
def agent_update(*, agent: Agent, password: str | None = None, routing_groups=None, **fields) -> Agent:
    """Change a sub-account; more room (capacity raised, or new groups) goes to the shop's queue at once."""
    # Locked before it is read, so a concurrent change cannot slip between the read and the update.
    old_capacity = Agent.objects.select_for_update().values_list("capacity", flat=True).get(pk=agent.pk)
    agent = agent_services.agent_update(agent=agent, password=password, routing_groups=routing_groups, **fields)
    if agent.capacity > old_capacity or routing_groups is not None:
        _offer_queue(agent)
    return agent


@transaction.atomic
def agent_set_status(*, agent: Agent, status: str, actor_id: int | None = None) -> Agent:
    """Change an agent's status; a repeated status changes nothing (not even ``status_changed_at``).

    An agent coming online takes the oldest waiting chats it has room for, in one line by ``queued_at``: queued ones
    and those where a buyer left a message while nobody was online (each with a notification). Chats it already serves
    stay with it whatever its status (busy and away agents get no new chats; auto-replies tell buyers).
    """
    now = timezone.now()
    agent, previous = agent_services.agent_status_change(agent=agent, status=status, now=now)
    if previous is None:
        return agent
    event_record(
        shop_id=agent.shop_id,
        kind=EventKind.AGENT_STATUS,
        at=now,
        agent_id=agent.pk,
        actor_id=actor_id,
        outcome=status,
        detail={"from": previous},
    )
    _offer_queue(agent)
    auto_replies_on_status_change(agent=agent, at=now)
    agent.refresh_from_db()
    return agent


def agents_absent_set_offline(*, now: datetime | None = None) -> int:
    """Set offline every online agent whose live connection has been silent for ``PRESENCE_GRACE_SECONDS``, through
    ``agent_set_status`` (one service event, one ``agent.status_changed`` each); returns how many.

    Their chats stay theirs. ``last_seen_at`` is touched on connect, at every ping and on disconnect, so an open
    connection keeps it fresh and a crashed server simply stops touching it. Agents with no ``last_seen_at`` (never
    connected live: API-only clients) are left alone; once an agent has connected, presence applies to it. Reconnecting
    later does not set anyone online.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PRESENCE_GRACE_SECONDS)
    # Silent for the grace *while online*: an agent who has just come online (its app about to connect) gets the grace
    # from that moment, not from a connection it closed yesterday.
    absent = Agent.objects.filter(
        status=AgentStatus.ONLINE, last_seen_at__isnull=False, last_seen_at__lt=cutoff, status_changed_at__lt=cutoff
    ).order_by("pk")
    changed = 0
    while True:
        with transaction.atomic():
            # The condition is read under the lock: PostgreSQL re-checks it on a row another transaction updated, so a
            # reconnect that touched last_seen_at first wins, and one still in flight (row locked) is skipped; its
            # UPDATE waits for this commit otherwise. Going offline locks nothing else (no queue drain), and routing
            # skips locked agents, so holding a batch of agent rows waits on nobody.
            batch = list(absent.select_for_update(skip_locked=True)[:PRESENCE_SWEEP_BATCH])
            for agent in batch:
                agent_set_status(agent=agent, status=AgentStatus.OFFLINE)
        changed += len(batch)
        if len(batch) < PRESENCE_SWEEP_BATCH:
            return changed


@transaction.atomic
def routing_group_create(*, members: Iterable[Agent] = (), **fields) -> RoutingGroup:
    """A routing group; its members' room goes to the shop's queue at once."""
    group = agent_services.routing_group_create(members=members, **fields)
    queue_drain(shop_id=group.shop_id)
    return group


@transaction.atomic
def routing_group_update(*, group: RoutingGroup, members=None, **fields) -> RoutingGroup:
    """Change a routing group; new members may have room for queued chats."""
    group = agent_services.routing_group_update(group=group, members=members, **fields)
    if members is not None:
        queue_drain(shop_id=group.shop_id)
    return group


def agent_recount_active_chats(*, shop_ids: Iterable[int] | None = None) -> int:
    """Rebuild the agents' ``active_chats`` counters from their chats in one UPDATE; returns the rows updated."""
    count = (
        Conversation.objects.filter(agent=OuterRef("pk"), status=ConversationStatus.HUMAN)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    agents = Agent.objects.all() if shop_ids is None else Agent.objects.filter(shop_id__in=list(shop_ids))
    return agents.update(active_chats=Coalesce(Subquery(count), 0))

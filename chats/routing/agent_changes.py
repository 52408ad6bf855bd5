"""What a change to an agent or a routing group does to chats: the event log, the queue and the buyers waiting.

The agents app changes its own rows (``agents.services``) and knows nothing of chats; these services wrap those
writes in one transaction with their consequences, and the API and admin call these.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def _offer_queue(agent: Agent) -> None:
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

    An agent coming online takes the oldest queued chats it has room for. Chats it already serves stay with it
    whatever its status (busy and away agents get no new chats; auto-replies tell buyers).
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

"""Routing chats to human agents, safe under concurrency.

An agent's seats are its ``capacity``; ``active_chats`` counts the taken ones. A seat is taken by locking the
best candidate row (``FOR UPDATE SKIP LOCKED``: a concurrent router moves on to the next best agent instead of
waiting) and incrementing the counter with a conditional UPDATE, so no agent ever goes over capacity. Locks are
always taken conversation first, then agent, which keeps concurrent routings free of deadlocks.

An assignment emits ``conversation.assigned`` (to the whole shop: the chat leaves the queue every agent sees) and its
announcement's ``message.created`` in one INSERT, next to its service events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from time import monotonic

from django.db import connection
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest

from agents.choices import AgentStatus, GroupPhase
from agents.models import Agent, RoutingGroup
from events.choices import Audience, EventType
from events.outbox import EventDraft, events_emit

from .. import texts
from ..choices import ConversationStatus, EventKind, Sender, TransferOutcome
from ..followup.notifications import left_message_notify
from ..lifecycle.events import event_build, events_record
from ..lifecycle.messages import message_write
from ..models import Conversation, ServiceEvent
from ..payloads import conversation_event, conversation_payload, transfer_requested

Membership = RoutingGroup.members.through
MAX_CLAIM_ATTEMPTS = 5


@dataclass(frozen=True)
class Seat:
    agent: Agent
    group_id: int | None


_LEVELS_CACHE: dict[tuple, tuple[float, list]] = {}
LEVELS_CACHE_SECONDS = 60.0


def routing_levels(conversation: Conversation) -> list[list[int] | None]:
    """Group ids to try in order: the phase's groups, then the default and any-phase groups, then anyone.

    Cached per process by (shop, routing version, phase): the group services bump the version, and entries
    expire after a minute, which bounds staleness for edits made around the services.
    """
    shop = conversation.shop
    # created_at guards against a recycled id (a rebuilt database) reading another shop's rules.
    key = (shop.pk, shop.created_at.timestamp(), shop.routing_version, conversation.phase)
    hit = _LEVELS_CACHE.get(key)
    if hit is not None and monotonic() - hit[0] < LEVELS_CACHE_SECONDS:
        return hit[1]
    levels = _routing_levels(conversation)
    if len(_LEVELS_CACHE) > 10_000:
        _LEVELS_CACHE.clear()
    _LEVELS_CACHE[key] = (monotonic(), levels)
    return levels


def _routing_levels(conversation: Conversation) -> list[list[int] | None]:
    groups = list(RoutingGroup.objects.filter(shop_id=conversation.shop_id).values_list("pk", "phase", "is_default"))
    by_phase = [pk for pk, phase, _default in groups if phase == conversation.phase]
    fallback = [pk for pk, phase, default in groups if (default or phase == GroupPhase.ANY) and pk not in by_phase]
    return [level for level in (by_phase, fallback) if level] + [None]


def _candidates(shop_id: int, group_ids: list[int] | None, exclude_agent_id: int | None):
    agents = Agent.objects.filter(shop_id=shop_id, status=AgentStatus.ONLINE, active_chats__lt=F("capacity"))
    if group_ids is not None:
        members = Membership.objects.filter(routinggroup_id__in=group_ids)
        agents = agents.filter(pk__in=members.values("agent_id")).annotate(
            routed_group_id=Subquery(
                members.filter(agent_id=OuterRef("pk")).order_by("routinggroup_id").values("routinggroup_id")[:1]
            )
        )
    if exclude_agent_id is not None:
        agents = agents.exclude(pk=exclude_agent_id)
    # Fewest active chats first; ties to the one idle longest (last assignment, else since it changed status).
    return agents.order_by("active_chats", Coalesce("last_assigned_at", "status_changed_at"), "pk")


def _seat_claim_one_statement(candidates, now: datetime) -> Seat | None:
    """PostgreSQL: pick and take the seat in one round trip (the hot path of every transfer).

    Column references into ``pick`` are qualified: an unqualified name missing from the CTE would silently
    resolve to the updated table's own column and match every row.

    The pick locks ``FOR NO KEY UPDATE``: the seat changes the agent's counters, never its key. So it skips only the
    rows other routers hold, not those a transaction merely references (a foreign-key check holds ``FOR KEY SHARE``:
    the agent's message being committed, the metrics rollup checking its rows), which ``FOR UPDATE`` would skip as
    if the agent were taken.
    """
    with_group = "routed_group_id" in candidates.query.annotations
    columns = ("pk", "routed_group_id") if with_group else ("pk",)
    pick = candidates.select_for_update(skip_locked=True, no_key=True).values(*columns)[:1]
    pick_sql, pick_params = pick.query.sql_with_params()
    table = Agent._meta.db_table
    group_column = ', (SELECT pick."routed_group_id" FROM pick)' if with_group else ""
    sql = (
        f'WITH pick AS ({pick_sql}) UPDATE "{table}" SET "active_chats" = "{table}"."active_chats" + 1, '
        f'"last_assigned_at" = %s WHERE "{table}"."id" = (SELECT pick."pk" FROM pick) '
        f'AND "{table}"."status" = %s AND "{table}"."active_chats" < "{table}"."capacity" '
        f'RETURNING "{table}"."id", "{table}"."shop_id", "{table}"."display_name"{group_column}'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pick_params, now, AgentStatus.ONLINE])
        row = cursor.fetchone()
    if row is None:
        return None
    agent = Agent(pk=row[0], shop_id=row[1], display_name=row[2])
    return Seat(agent, row[3] if with_group else None)


def seat_claim(
    *, shop_id: int, group_ids: list[int] | None, now: datetime, exclude_agent_id: int | None = None
) -> Seat | None:
    """Take one seat of the best online agent with room among ``group_ids`` (``None``: the whole shop)."""
    if connection.vendor == "postgresql":
        # The pick skips rows other routers hold, so a miss means nobody free was left unlocked: try again
        # in case those routers gave up their pick.
        for _attempt in range(MAX_CLAIM_ATTEMPTS):
            candidates = _candidates(shop_id, group_ids, exclude_agent_id)
            seat = _seat_claim_one_statement(candidates, now)
            if seat is not None or not candidates.exists():
                return seat
        return None
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        candidate = (
            _candidates(shop_id, group_ids, exclude_agent_id)
            .select_for_update(skip_locked=True, no_key=True)
            .only("pk", "shop_id", "display_name")
            .first()
        )
        if candidate is None:
            return None
        taken = Agent.objects.filter(pk=candidate.pk, status=AgentStatus.ONLINE, active_chats__lt=F("capacity")).update(
            active_chats=F("active_chats") + 1, last_assigned_at=now
        )
        if taken:
            return Seat(candidate, getattr(candidate, "routed_group_id", None))
    return None


def seat_claim_for_agent(*, agent_id: int, now: datetime) -> bool:
    """Take a seat of one named agent, if it is online and has room."""
    return bool(
        Agent.objects.filter(pk=agent_id, status=AgentStatus.ONLINE, active_chats__lt=F("capacity")).update(
            active_chats=F("active_chats") + 1, last_assigned_at=now
        )
    )


def seat_release(*, agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id, active_chats__gt=0).update(active_chats=F("active_chats") - 1)


def seats_release(freed: Mapping[int, int]) -> None:
    """Give back ``freed[agent_id]`` seats of each agent in one UPDATE (never below zero)."""
    if not freed:
        return
    counts = Case(*(When(pk=agent_id, then=Value(n)) for agent_id, n in freed.items()), default=Value(0))
    Agent.objects.filter(pk__in=list(freed), active_chats__gt=0).update(
        active_chats=Greatest(F("active_chats") - counts, Value(0))
    )


def seat_find(conversation: Conversation, *, now: datetime) -> Seat | None:
    """Route by the shop's group rules: each level in turn until an agent has room."""
    for level in routing_levels(conversation):
        seat = seat_claim(shop_id=conversation.shop_id, group_ids=level, now=now)
        if seat is not None:
            return seat
    return None


def shop_has_online_agent(shop_id: int) -> bool:
    return Agent.objects.filter(shop_id=shop_id, status=AgentStatus.ONLINE).exists()


def conversation_assign(
    conversation: Conversation,
    seat: Seat,
    now: datetime,
    *,
    actor_id: int | None = None,
    events: list[ServiceEvent] = (),
    also_save: tuple[str, ...] = (),
    requested_from: str | None = None,
    announce: list[EventDraft] | None = None,
) -> None:
    """Give the chat to the seat's agent: one UPDATE of the chat, one INSERT of its events, one announcement.

    ``requested_from``: the assignment answers the buyer's transfer-to-human request from this source, whose
    ``transfer.requested`` goes first. The outbox events go in one INSERT, or onto ``announce`` for the caller to emit
    with others. A chat where the buyer left a message (``left_message``) becomes a human chat like a queued one, and
    its agent gets a ``left_message`` notification (after the assignment's events) so the message is not forgotten.
    """
    left_message, left_at = conversation.status == ConversationStatus.LEFT_MESSAGE, conversation.queued_at
    conversation.status = ConversationStatus.HUMAN
    conversation.agent_id = seat.agent.pk
    conversation.group_id = seat.group_id
    conversation.queued_at = None
    conversation.assigned_at = conversation.assigned_at or now
    if left_message:
        # The announcement below is the chat's last message: a message left hours ago must not make the idle sweep end
        # the chat its agent has just been given.
        conversation.last_message_at = max(conversation.last_message_at or now, now)
        also_save = (*also_save, "last_message_at")
    conversation.save(update_fields=["status", "agent", "group", "queued_at", "assigned_at", *also_save])
    assigned = event_build(
        shop_id=conversation.shop_id,
        kind=EventKind.ASSIGNED,
        at=now,
        conversation=conversation,
        agent_id=seat.agent.pk,
        group_id=seat.group_id,
        actor_id=actor_id,
    )
    events_record([*events, assigned])
    payload = conversation_payload(conversation, queue_position=None)
    drafts = [
        conversation_event(EventType.CONVERSATION_ASSIGNED, conversation, at=now, audience=Audience.SHOP, data=payload)
    ]
    if requested_from is not None:
        requested = transfer_requested(
            conversation, outcome=TransferOutcome.ASSIGNED, source=requested_from, at=now, data=payload
        )
        drafts.insert(0, requested)
    message_write(
        conversation=conversation,
        sender=Sender.SYSTEM,
        body=texts.assigned(seat.agent.display_name),
        sent_at=now,
        events=drafts,
    )
    if left_message:
        left_message_notify(
            conversation=conversation, agent_id=seat.agent.pk, left_at=left_at, now=now, announce=drafts
        )
    if announce is None:
        events_emit(drafts)
    else:
        announce.extend(drafts)

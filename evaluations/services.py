"""Rating invites (random system invites at a chat's end, retired agent invites), the buyers' answers, and the
daily metric rollups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import Conflict, Gone, InvalidInput
from chats.choices import ConversationStatus, MessageFlag, Sender
from chats.lifecycle.messages import message_write
from chats.models import Conversation
from chats.sql import id_set_sql, in_list_sql
from events.choices import Audience, EventType
from events.outbox import EventDraft, event_emit, events_emit
from shops.models import Shop

from .choices import INVITE_VALIDITY_HOURS, InviteChannel, InviteStatus
from .metrics import DAILY_METRIC_KEY, DAILY_METRIC_KEY_COLUMNS, daily_metric_statements
from .models import DailyMetric, Evaluation, InviteDecision, RatingInvite
from .payloads import evaluation_payload, invite_payload
from .random_source import random_source

METRICS_LOCK_NAMESPACE = 7301  # pg_advisory_xact_lock(namespace, day): one rollup of a day at a time


def _invite(conversation: Conversation, channel: str, now: datetime) -> RatingInvite:
    """Store an invite and its card in the chat; ``invite.sent`` and the card's ``message.created`` go in one INSERT,
    seen by the chat's agent and the shop's managers."""
    invite = RatingInvite(
        conversation=conversation,
        channel=channel,
        agent_id=conversation.agent_id,
        sent_at=now,
        expires_at=now + timedelta(hours=INVITE_VALIDITY_HOURS),
    )
    invite.save()
    announce = [
        EventDraft(
            type=EventType.INVITE_SENT,
            shop_id=conversation.shop_id,
            conversation_id=conversation.pk,
            agent_id=conversation.agent_id,
            audience=Audience.AGENT,
            data=invite_payload(invite),
            at=now,
        )
    ]
    message_write(
        conversation=conversation,
        sender=Sender.SYSTEM,
        body=_("How was our service? Please rate this chat within 24 hours."),
        sent_at=now,
        flags=[MessageFlag.RATING_INVITE.value],
        events=announce,
    )
    events_emit(announce)
    return invite


@transaction.atomic
def rating_invite_decide(*, conversation_id: int, now: datetime | None = None) -> RatingInvite | None:
    """After a chat ends: draw once, with the shop's probability, whether a system invite goes out.

    The draw is stored with the chat, so a repeated close, a retried task or a second worker finds it and draws
    nothing again; the unique system-invite constraint is the last line of defence.
    """
    now = now or timezone.now()
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("shop").get(pk=conversation_id)
    if conversation.status != ConversationStatus.ENDED:
        return None
    if InviteDecision.objects.filter(conversation=conversation).exists():
        return RatingInvite.objects.filter(conversation=conversation, channel=InviteChannel.SYSTEM).first()
    probability = conversation.shop.invite_probability
    send = Decimal(str(random_source().random())) < probability
    InviteDecision.objects.create(conversation=conversation, send=send, probability=probability, decided_at=now)
    if not send:
        return None
    return _invite(conversation, InviteChannel.SYSTEM, now)


@transaction.atomic
def rating_invite_request_by_agent(*, conversation: Conversation, now: datetime | None = None) -> RatingInvite:
    """The agent channel: refused for invites created on or after the retirement date (a setting)."""
    now = now or timezone.now()
    retired_on = settings.AGENT_INVITE_RETIRED_ON
    if now.astimezone(conversation.shop.tzinfo).date() >= retired_on:
        raise InvalidInput(
            _("Agent rating invites were retired on %(date)s; the system invites buyers at random.")
            % {"date": retired_on.isoformat()},
            field="channel",
            code="agent_channel_retired",
        )
    return _invite(conversation, InviteChannel.AGENT, now)


def rating_invites_expire_overdue(*, now: datetime | None = None) -> int:
    """Mark every pending invite past its 24 hours ``expired``, in one statement; safe to run any number of times."""
    now = now or timezone.now()
    return RatingInvite.objects.filter(status=InviteStatus.PENDING, expires_at__lte=now).update(
        status=InviteStatus.EXPIRED
    )


def _clean_tags(tags) -> list[str]:
    return list(dict.fromkeys(str(tag).strip() for tag in tags or [] if str(tag).strip()))


@transaction.atomic
def evaluation_submit(
    *,
    score: int,
    invite: RatingInvite | None = None,
    conversation: Conversation | None = None,
    tags: list[str] | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Evaluation:
    """The buyer answers an invite, or rates an ended chat of their own accord (the ``self`` channel).

    An invite is answered at most once (409) and only within 24 hours of being sent (410), whatever the expiry
    sweep has or has not done yet; a self rating likewise within 24 hours of the chat's end. Emits
    ``evaluation.created``, seen by the chat's agent and the shop's managers.
    """
    now = now or timezone.now()
    if invite is not None:
        invite = RatingInvite.objects.select_for_update().get(pk=invite.pk)
        if invite.status == InviteStatus.ANSWERED:
            raise Conflict(_("This invite has already been answered."), code="already_answered")
        if not invite.is_open_at(now):  # the expiry sweep may not have run yet: the time decides, not the status
            raise Gone(_("This rating invite has expired: invites can be answered for 24 hours."), code="expired")
        conversation, channel = invite.conversation, invite.channel
    else:
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.status != ConversationStatus.ENDED:
            raise Conflict(_("A chat can be rated once it has ended."), code="not_ended")
        if Evaluation.objects.filter(conversation=conversation, channel=InviteChannel.SELF).exists():
            raise Conflict(_("The buyer has already rated this chat."), code="already_answered")
        # Self ratings count for the day the chat ended, which is final at the start of D+2 (DESIGN.md): like an
        # invite, a chat can be rated for 24 hours after it ends, so no late rating changes a final day.
        if now >= conversation.ended_at + timedelta(hours=INVITE_VALIDITY_HOURS):
            raise Gone(_("A chat can be rated for 24 hours after it ends."), code="expired")
        channel = InviteChannel.SELF
    evaluation = Evaluation(
        invite=invite,
        conversation=conversation,
        channel=channel,
        score=score,
        tags=_clean_tags(tags),
        comment=comment,
        answered_at=now,
    )
    evaluation.full_clean()
    try:
        with transaction.atomic():
            evaluation.save()
    except IntegrityError as error:  # a concurrent answer won the race the checks above could not see
        raise Conflict(_("This invite has already been answered."), code="already_answered") from error
    if invite is not None:
        invite.status = InviteStatus.ANSWERED
        invite.answered_at = now
        invite.save(update_fields=["status", "answered_at"])
    event_emit(
        type=EventType.EVALUATION_CREATED,
        shop_id=conversation.shop_id,
        conversation_id=conversation.pk,
        agent_id=conversation.agent_id,
        audience=Audience.AGENT,
        data=evaluation_payload(evaluation),
        at=now,
    )
    return evaluation


# The planner settings of a rollup (PostgreSQL), for its own statements only: see ``_lock_day``.
ROLLUP_PLANNER_SETTINGS = {"jit": "off", "enable_sort": "off"}


def _lock_day(day: date) -> dict[str, str]:
    """Serialise rollups of one day on PostgreSQL, so two runs never interleave their upserts and deletes, and set
    the rollup's planner settings for the transaction; returns the settings they replace (``_restore_settings``).

    The rollup's CTEs and its joins to each shop's bounds are estimated at a few rows where there are thousands:
    - so its cost crosses ``jit_above_cost`` for a statement that runs in tens of milliseconds, and compiling it
      (about 150 ms, measured by bench/metrics.py) would cost more than running it: JIT is off;
    - so the planner sorts for group and merge joins that it would hash if it knew the sizes (the day's 13,700 turns
      sorted on six keys, for one): sorts are off, which makes it hash wherever it can (about 7 ms of 80 on the 200
      shops of bench/metrics.py, the statement timed with and without). A sort it needs (its ``ORDER BY``) still runs.
    """
    if connection.vendor != "postgresql":
        return {}
    names = list(ROLLUP_PLANNER_SETTINGS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s), "
            + ", ".join("current_setting(%s), set_config(%s, %s, true)" for _ in names),
            [METRICS_LOCK_NAMESPACE, day.toordinal()]
            + [value for name in names for value in (name, name, ROLLUP_PLANNER_SETTINGS[name])],
        )
        row = cursor.fetchone()
    return {name: row[1 + 2 * k] for k, name in enumerate(names)}


def _restore_settings(previous: dict[str, str]) -> None:
    """Put back the planner settings ``_lock_day`` replaced: a rollup inside a caller's transaction leaves it as
    it found it."""
    if previous:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in previous),
                [value for item in previous.items() for value in item],
            )


def _upsert(table: str, sql: str, columns: list[str]) -> str:
    """``INSERT ... <sql> ON CONFLICT (<row key>) DO UPDATE ... RETURNING id``: a row already stored for its key is
    updated in place (its id kept); the ids of every row written are returned."""
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns if name not in DAILY_METRIC_KEY_COLUMNS)
    # The statement ends with ORDER BY: SQLite could not otherwise tell ``ON CONFLICT`` from a join's ``ON``.
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {sql} "  # noqa: S608 -- the module's own SQL
        f"ON CONFLICT ({DAILY_METRIC_KEY}) DO UPDATE SET {updates} RETURNING id"
    )


@transaction.atomic
def daily_metrics_rollup(*, day: date, shop_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Recompute the daily metrics of the shop-local day ``day`` for ``shop_ids`` (``None``: every shop).

    Idempotent, in one transaction (computed in SQL, see ``evaluations.metrics.rollup``): each row is upserted on its
    key (``DAILY_METRIC_KEY``), so a re-run updates the day's rows in place and keeps their ids (with the same data,
    only ``computed_at`` changes), and the day's rows of those shops that the run did not write (an agent with
    nothing left to count that day) are deleted. Returns the rows written.
    """
    ids = None if shop_ids is None else sorted(set(shop_ids))
    now = now or timezone.now()
    previous = _lock_day(day)
    table = connection.ops.quote_name(DailyMetric._meta.db_table)
    written = 0
    with connection.cursor() as cursor:
        # Per statement (a chunk of shops): the upsert, then the deletion of those shops' rows of D it did not write;
        # one statement on PostgreSQL.
        for statement in daily_metric_statements(day=day, shop_ids=ids, now=now):
            upsert = _upsert(table, statement.sql, statement.columns)
            stale: list = [connection.ops.adapt_datefield_value(day)]
            of_day = f"date = %s AND {in_list_sql('shop_id', statement.shop_ids, stale)}"
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"WITH written AS ({upsert}), stale AS (DELETE FROM {table} WHERE {of_day} "  # noqa: S608
                    "AND id NOT IN (SELECT id FROM written)) SELECT COUNT(*) FROM written",
                    [*statement.params, *stale],
                )
                written += cursor.fetchone()[0]
            else:
                cursor.execute(upsert, statement.params)
                ids_written = [row[0] for row in cursor.fetchall()]
                not_written = id_set_sql(ids_written, stale)
                cursor.execute(f"DELETE FROM {table} WHERE {of_day} AND id NOT IN ({not_written})", stale)  # noqa: S608
                written += len(ids_written)
    _restore_settings(previous)
    return written


def daily_metrics_rollup_nightly(*, days_ago: int, now: datetime | None = None) -> int:
    """The nightly run: every shop's own local day ``today - days_ago``, one transaction per time zone.

    Whatever the hour it runs at, a shop's local yesterday has ended, so one schedule serves every time zone.
    """
    now = now or timezone.now()
    zones: dict[str, list[int]] = {}
    for shop_id, zone in Shop.objects.order_by("pk").values_list("pk", "timezone"):
        zones.setdefault(zone, []).append(shop_id)
    written = 0
    for zone, ids in zones.items():
        day = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=days_ago)
        written += daily_metrics_rollup(day=day, shop_ids=ids, now=now)
    return written

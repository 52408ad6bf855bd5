"""Webhook delivery: claim, POST outside any transaction, record; retries on the schedule; disabling.

A delivery is worked on in three steps, and no database transaction is open during a POST (it would hold row locks
and keep the feed's sequencer from numbering other work for as long as a receiver takes to answer):

1. claim, in a short transaction: the dispatcher creates deliveries claimed; ``webhook_deliveries_claim_due``
   (the beat job) claims due retries and deliveries whose lease ran out (their worker died) with
   ``SELECT ... FOR UPDATE SKIP LOCKED``; ``webhook_delivery_redeliver`` claims one delivery for a manual attempt. A
   claim sets ``lease_until``, which is also the claim's token;
2. POST each delivery of the batch (``client.webhook_post``), one subscription per batch, the URL checked again by
   the SSRF guard (once per batch) and the connection kept alive between the batch's POSTs. A lease running short
   is extended (for the rows still carrying it) before the next POST;
3. record the results, in another short transaction (one UPDATE of the batch's rows, guarded by the lease, and
   one of the subscription's failure count), at the batch's end and at least every ``RECORD_EVERY_SECONDS``: a
   worker whose lease was taken over records nothing.

Outcomes: 2xx delivered. 410 fails the delivery and disables the subscription at once. Anything else (another
status, a 3xx too: no redirect is followed; a timeout; a connection error; a refused URL) is a failed attempt:
retry ``n`` is due ``WEBHOOK_RETRY_SCHEDULE_SECONDS[n - 1]`` seconds after the delivery was created (and never sooner
after the previous attempt than the gap between the two steps); after the last one the delivery is failed.
``WEBHOOK_MAX_CONSECUTIVE_FAILURES`` failed attempts in a row (any deliveries of the subscription; a 2xx resets
the count) disable the subscription. A disabled subscription's pending deliveries wait, unclaimed, until it is
switched on again; its owner is told by e-mail (``webhook_disabled_notify``).

Delivery is at least once: a worker that dies after a POST and before recording it leaves the delivery to be
claimed again once its lease is over, and the receiver gets it a second time with the same ``X-Backoffice-Delivery``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backoffice.errors import Conflict

from ..models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from ..rendering import event_json
from .client import PostResult, webhook_post
from .dispatch import DeliveryBatch, batches_of, lease_new
from .guard import WebhookURLRefused, webhook_target
from .signing import signature_header
from .subscriptions import webhook_subscription_disable

logger = logging.getLogger(__name__)

CLAIM_LIMIT = 2000  # due deliveries claimed per beat run; the next run takes the rest
RECORD_EVERY_SECONDS = 1.0  # results of a batch are recorded at its end, and at least this often meanwhile
LEASE_MARGIN_SECONDS = 2.0
BATCH_SECONDS = 120.0  # a batch still unfinished after this long hands the rest back (well inside the task time limit)
USER_AGENT = "Backoffice-Webhooks/1.0"
RECORDED_FIELDS = [
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "response_ms",
    "response_body",
    "next_attempt_at",
    "lease_until",
    "delivered_at",
]


@dataclass(slots=True)
class _Delivery:
    """What a batch reads of a claimed delivery and writes back (``RECORDED_FIELDS``): no model instances, no
    event row; the body is rendered from the event's columns by the feed's own function."""

    pk: int
    subscription_id: int
    status: str
    attempts: int
    created_at: datetime
    event_type: str
    body: bytes
    last_status_code: int | None = None
    last_error: str = ""
    response_ms: int | None = None
    response_body: str = ""
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    delivered_at: datetime | None = None


@dataclass
class _Attempt:
    delivery: _Delivery
    result: PostResult
    at: datetime
    started: float  # monotonic, when the POST began


def webhook_deliveries_claim_due(*, now: datetime | None = None, limit: int = CLAIM_LIMIT) -> list[DeliveryBatch]:
    """Claim pending deliveries of enabled subscriptions that are due at ``now`` and not leased (or whose lease is
    over), oldest due first; rows another claimer holds are skipped. Returns them in batches for delivery tasks."""
    now = now or timezone.now()
    lease = lease_new(now)
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__enabled=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .order_by("next_attempt_at", "pk")
            .values_list("subscription_id", "pk")[:limit]
        )
        if rows:
            WebhookDelivery.objects.filter(pk__in=[pk for _, pk in rows]).update(lease_until=lease)
    return batches_of(sorted(rows), lease)


def webhook_deliveries_send(*, delivery_ids: list[int], lease_until: datetime) -> int:
    """Attempt the claimed deliveries that still carry ``lease_until``; returns how many were delivered. Safe to
    run twice: a second run finds them recorded (or claimed by someone else) and does nothing."""
    return _deliver(_claimed(delivery_ids, lease_until, manual=False), lease_until, manual=False)


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """One attempt now, whatever the delivery's status (and the subscription's switch); ``Conflict`` while another
    attempt of it is under way. The answer's status: delivered on 2xx; otherwise a pending delivery keeps its
    schedule, a delivered one stays delivered and a failed one failed (the attempt is in the log fields)."""
    now = timezone.now()
    lease = lease_new(now)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=lease)
    )
    if not claimed:
        raise Conflict(_("This delivery is being attempted right now; try again in a minute."))
    _deliver(_claimed([delivery.pk], lease, manual=True), lease, manual=True)
    return WebhookDelivery.objects.filter(pk=delivery.pk).first() or delivery  # gone with a deleted subscription


_CLAIMED_COLUMNS = (
    "pk",
    "subscription_id",
    "status",
    "attempts",
    "created_at",
    "event__position",
    "event__type",
    "event__at",
    "event__shop_id",
    "event__conversation_id",
    "event__agent_id",
    "event_data_json",
)


def _claimed(ids, lease: datetime, *, manual: bool) -> list[_Delivery]:
    rows = WebhookDelivery.objects.filter(pk__in=list(ids), lease_until=lease)
    if not manual:
        rows = rows.filter(status=DeliveryStatus.PENDING, subscription__enabled=True)
    rows = (
        rows.annotate(event_data_json=Cast("event__data", TextField()))
        .order_by("subscription_id", "pk")
        .values_list(*_CLAIMED_COLUMNS)
    )
    return [
        _Delivery(
            pk=pk,
            subscription_id=subscription_id,
            status=status,
            attempts=attempts,
            created_at=created_at,
            event_type=event[1],
            body=event_json(*event).encode(),
        )
        for pk, subscription_id, status, attempts, created_at, *event in rows
    ]


def _deliver(rows: list[_Delivery], lease: datetime, *, manual: bool) -> int:
    delivered = 0
    # What is stored (errors, disable reasons) is written in the site's language, whoever asked for a redelivery.
    with translation.override(settings.LANGUAGE_CODE):
        for subscription_id in dict.fromkeys(row.subscription_id for row in rows):
            subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
            if subscription is not None:
                batch = [row for row in rows if row.subscription_id == subscription_id]
                delivered += _deliver_to_one(subscription, batch, lease, manual=manual)
    return delivered


def _deliver_to_one(subscription: WebhookSubscription, rows: list[_Delivery], lease: datetime, *, manual: bool) -> int:
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        target, refusal = webhook_target(subscription.url), ""
    except WebhookURLRefused as error:
        target, refusal = None, str(error.message)
    attempts: list[_Attempt] = []
    failures_in_row = subscription.consecutive_failures
    delivered = 0
    batch_started = time.monotonic()
    for index, delivery in enumerate(rows):
        if time.monotonic() - batch_started > BATCH_SECONDS:
            # A slow receiver: give the rest back (due, unclaimed) to the next beat claim rather than hold a worker.
            delivered += _record(subscription.pk, attempts, lease, manual=manual)
            _release([row.pk for row in rows[index:]], lease)
            return delivered
        if (lease - timezone.now()).total_seconds() < timeout + LEASE_MARGIN_SECONDS:
            delivered += _record(subscription.pk, attempts, lease, manual=manual)
            attempts = []
            lease = _lease_extend([row.pk for row in rows[index:]], lease)
            if lease is None:
                return delivered  # taken over by another claim: the rest is theirs
        started = time.monotonic()
        if refusal:
            result = PostResult(status=None, error=_("Refused: %(reason)s") % {"reason": refusal})
        else:
            result = webhook_post(target, delivery.body, _headers(subscription.secret, delivery), timeout=timeout)
        attempts.append(_Attempt(delivery, result, timezone.now(), started))
        failures_in_row = 0 if result.ok else failures_in_row + 1
        gone = result.status == 410
        if not manual and (gone or failures_in_row >= settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES):
            # The subscription is being disabled: the rest of the batch waits, pending, for it to be switched on.
            delivered += _record(subscription.pk, attempts, lease, manual=manual)
            _release([row.pk for row in rows[index + 1 :]], lease)
            return delivered
        if time.monotonic() - attempts[0].started >= RECORD_EVERY_SECONDS:
            delivered += _record(subscription.pk, attempts, lease, manual=manual)
            attempts = []
    return delivered + _record(subscription.pk, attempts, lease, manual=manual)


def _headers(secret: str, delivery: _Delivery) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Backoffice-Event": delivery.event_type,
        "X-Backoffice-Delivery": str(delivery.pk),
        "X-Backoffice-Signature": signature_header(secret, delivery.body),
    }


def _lease_extend(ids: list[int], lease: datetime) -> datetime | None:
    extended = lease_new()
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(pk__in=ids, lease_until=lease).update(lease_until=extended)
    return extended if count else None


def _release(ids: list[int], lease: datetime) -> None:
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids, lease_until=lease).update(lease_until=None)


def _record(subscription_id: int, attempts: list[_Attempt], lease: datetime, *, manual: bool) -> int:
    """Store the attempts' outcomes on the rows that still carry ``lease``, then the subscription's failure count
    (and its switch, when the count or a 410 says so); returns how many were delivered."""
    if not attempts:
        return 0
    for attempt in attempts:
        _apply(attempt, manual=manual)
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        # Deliveries first, then their subscription: the order in which deleting a subscription locks them too.
        held = _store([attempt.delivery for attempt in attempts], lease)
        recorded = [attempt for attempt in attempts if attempt.delivery.pk in held]
        if len(recorded) < len(attempts):
            logger.info(
                "webhook deliveries %s: lease taken over, results dropped",
                sorted(attempt.delivery.pk for attempt in attempts if attempt.delivery.pk not in held),
            )
        if not recorded:
            return 0
        delivered = sum(attempt.result.ok for attempt in recorded)
        last_ok = max((i for i, attempt in enumerate(recorded) if attempt.result.ok), default=None)
        failures = len(recorded) if last_ok is None else len(recorded) - last_ok - 1
        gone = any(attempt.result.status == 410 for attempt in recorded)
        subscriptions = WebhookSubscription.objects.filter(pk=subscription_id)
        if not failures and not gone:
            # All well: reset the count, writing nothing when it is 0 already (the usual case).
            subscriptions.exclude(consecutive_failures=0).update(consecutive_failures=0)
            return delivered
        counter = F("consecutive_failures") + failures if last_ok is None else failures
        subscriptions.update(consecutive_failures=counter)
        state = subscriptions.values_list("enabled", "consecutive_failures").first()
        if state is None:
            return 0  # deleted meanwhile, with its deliveries
        enabled, consecutive = state
        reason = ""
        if gone:
            reason = _("The receiver answered 410 Gone.")
        elif consecutive >= settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES:
            reason = _("%(count)d delivery attempts failed in a row (last: %(error)s).") % {
                "count": consecutive,
                "error": recorded[-1].delivery.last_error,
            }
        if enabled and reason:
            subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(pk=subscription_id)
            webhook_subscription_disable(subscription=subscription, reason=reason)
            subscription.save(
                update_fields=["enabled", "disabled_reason", "disabled_at", "owner_notified_at", "updated_at"]
            )
    return delivered


def _commit_without_waiting_for_disk() -> None:
    # A recorded result lost to a crash of the database server (the last few hundred milliseconds of commits) leaves
    # its delivery pending and claimed: it is claimed again once the lease is over and delivered a second time, as
    # after a worker's crash; delivery is at least once anyway. Waiting for the WAL flush at each record would cost
    # more than the POSTs it records.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _store(deliveries: list[_Delivery], lease: datetime) -> set[int]:
    """Write the recorded fields of the deliveries that still carry ``lease``; returns their ids. One statement on
    PostgreSQL (``UPDATE ... FROM unnest(arrays) RETURNING``); ``bulk_update`` would build a CASE per field and row and
    cost more than the POSTs themselves."""
    # Identifiers and casts come from the model; every value is a parameter.
    fields = [WebhookDelivery._meta.get_field(name) for name in RECORDED_FIELDS]
    quote = connection.ops.quote_name
    table = quote(WebhookDelivery._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column, so the statement has a dozen parameters whatever the batch's size (the client
            # would otherwise quote thousands of them). Strings, integers, None and aware datetimes go in as they are.
            columns = [[delivery.pk for delivery in deliveries]] + [
                [getattr(delivery, name) for delivery in deliveries] for name in RECORDED_FIELDS
            ]
            types = ["bigint", *(field.db_type(connection) for field in fields)]
            names = ", ".join(["id", *(quote(field.column) for field in fields)])
            cursor.execute(
                f"UPDATE {table} AS d SET "  # noqa: S608
                + ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
                + f" FROM unnest({', '.join(f'%s::{kind}[]' for kind in types)}) AS v({names})"
                " WHERE d.id = v.id AND d.lease_until = %s RETURNING d.id",
                [*columns, lease],
            )
            return {pk for (pk,) in cursor.fetchall()}
        rows = [
            [delivery.pk, *(field.get_db_prep_save(getattr(delivery, field.attname), connection) for field in fields)]
            for delivery in deliveries
        ]
        held = set(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[delivery.pk for delivery in deliveries], lease_until=lease)
            .values_list("pk", flat=True)
        )
        sql = (
            f"UPDATE {table} SET "  # noqa: S608
            + ", ".join(f"{quote(field.column)} = %s" for field in fields)
            + f" WHERE {quote('id')} = %s"
        )
        cursor.executemany(sql, [[*values[1:], values[0]] for values in rows if values[0] in held])
        return held


def _apply(attempt: _Attempt, *, manual: bool) -> None:
    delivery, result, now = attempt.delivery, attempt.result, attempt.at
    delivery.attempts += 1
    delivery.last_status_code = result.status
    delivery.response_ms = result.elapsed_ms
    delivery.response_body = _text(result.body.decode("utf-8", errors="replace"), 1024)
    delivery.lease_until = None
    if result.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
        return
    delivery.last_error = _text(result.error or _("The receiver answered %(status)s.") % {"status": result.status}, 300)
    if manual and delivery.status != DeliveryStatus.PENDING:
        delivery.next_attempt_at = None  # a manual attempt starts no schedule: delivered stays, failed stays
        return
    delivery.next_attempt_at = None if result.status == 410 else retry_at(delivery, now)
    if delivery.next_attempt_at is None:
        delivery.status = DeliveryStatus.FAILED


def retry_at(delivery: WebhookDelivery, now: datetime) -> datetime | None:
    """When the next attempt of a delivery that has just failed its ``attempts``-th attempt is due (``None``: the
    schedule is used up)."""
    schedule = list(settings.WEBHOOK_RETRY_SCHEDULE_SECONDS)
    step = delivery.attempts - 1
    if step >= len(schedule):
        return None
    gap = schedule[step] - (schedule[step - 1] if step else 0)
    return max(delivery.created_at + timedelta(seconds=schedule[step]), now + timedelta(seconds=max(gap, 0)))


def _text(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL characters; answers are stored for people to read.
    return value.replace("\x00", "\ufffd")[:limit]

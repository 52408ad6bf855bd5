"""Exports of chat monitoring: conversations with their response figures, or messages, to CSV or XLSX.

``export_create`` records who asked for what (kind, format, filters) and enqueues the job on commit. The task calls
``export_run``, which claims the job under a row lock (a second run finds it claimed and does nothing), streams the
rows from a server-side cursor (PostgreSQL; a plain cursor on SQLite) in chunks into a temporary file next to the
final one, and moves it into place, so memory stays flat whatever the row count and no half-written file is ever
offered. Every text cell that a spreadsheet could take for a formula is neutralised (``neutralise_cell``).
``exports_delete_expired`` deletes files past ``EXPORT_RETENTION_DAYS``; the record stays.

An export that finishes, done or failed, emits ``export.finished`` (the export as ``GET /exports/{id}/`` renders it)
with its status, for the shop's managers only: exports are theirs (owners, supervisors; platform staff).
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent, RoutingGroup
from backoffice.errors import Conflict
from backoffice.spreadsheets import neutralise_cell
from events.choices import Audience, EventType
from events.outbox import event_emit
from shops.models import Buyer, Shop

from ..choices import ExportFormat, ExportKind, ExportStatus
from ..hooks import latest_rating_sql
from ..models import Conversation, Export, Message
from ..payloads import export_payload
from ..turns.sql import ConversationFilter, conversation_summary_sql
from .monitoring import MonitoringFilters, monitoring_conversation_filter

logger = logging.getLogger(__name__)
EXPORT_RUN_TASK = "chats.tasks.export_run_task"

XLSX_MAX_ROWS = 1_048_576  # per sheet, header included
DELETE_BATCH = 500
ABANDONED_PART_AGE = timedelta(days=1)


@transaction.atomic
def export_create(
    *, shop: Shop, requested_by: AbstractBaseUser | None, kind: str, format: str, filters: MonitoringFilters
) -> Export:
    """Record an export request (who, what, which filters) and run it in the background once committed."""
    export = Export.objects.create(
        shop=shop, requested_by=requested_by, kind=kind, format=format, filters=filters.as_json()
    )
    _enqueue(export.pk)
    return export


@transaction.atomic
def export_retry(*, export_id: int) -> Export:
    """Run a failed export again (the admin's action)."""
    export = Export.objects.select_for_update().get(pk=export_id)
    if export.status != ExportStatus.FAILED:
        raise Conflict(_("Only a failed export can be run again."))
    export.status = ExportStatus.PENDING
    export.error = ""
    export.rows = 0
    export.save(update_fields=["status", "error", "rows"])
    _enqueue(export.pk)
    return export


def _enqueue(export_id: int) -> None:
    # By name: the task module imports this one.
    transaction.on_commit(lambda: current_app.signature(EXPORT_RUN_TASK, args=(export_id,)).delay())


def _claim(export_id: int, now: datetime) -> Export | None:
    with transaction.atomic():
        export = (
            Export.objects.select_for_update(of=("self",))
            .select_related("shop", "requested_by")
            .filter(pk=export_id)
            .first()
        )
        if export is None:
            return None
        # A running export whose worker died (acks_late redelivers the task) may be claimed again after a while.
        stale_before = now - timedelta(seconds=settings.EXPORT_STALE_RUNNING_SECONDS)
        stale = export.status == ExportStatus.RUNNING and export.started_at and export.started_at < stale_before
        if export.status != ExportStatus.PENDING and not stale:
            return None
        export.status = ExportStatus.RUNNING
        export.started_at = now
        export.save(update_fields=["status", "started_at"])
        return export


def export_run(*, export_id: int) -> Export | None:
    """Write the export's file; ``None`` when there is nothing to do (gone, or already claimed or finished)."""
    export = _claim(export_id, timezone.now())
    if export is None:
        return None
    try:
        name, rows = _write_file(export)
    except Exception as error:
        logger.exception("export %s failed", export.pk)
        _finish(export, status=ExportStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        return export
    _finish(export, status=ExportStatus.DONE, file=name, rows=rows, error="")
    return export


def _finish(export: Export, **fields) -> None:
    """Record the end of a claimed export and emit ``export.finished`` in the same transaction."""
    fields["finished_at"] = timezone.now()
    with transaction.atomic():
        Export.objects.filter(pk=export.pk).update(**fields)
        for name, value in fields.items():
            setattr(export, name, value)
        requester = export.requested_by.username if export.requested_by is not None else None
        event_emit(
            type=EventType.EXPORT_FINISHED,
            shop_id=export.shop_id,
            audience=Audience.MANAGERS,
            data=export_payload(export, requested_by=requester),
            at=fields["finished_at"],
        )
    export.refresh_from_db()


def exports_delete_expired(*, now: datetime | None = None) -> int:
    """Delete export files older than ``EXPORT_RETENTION_DAYS`` (and abandoned temporary files); returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    deleted = 0
    with transaction.atomic():
        due = list(
            Export.objects.select_for_update(skip_locked=True)
            .filter(status=ExportStatus.DONE, finished_at__lt=cutoff, file_deleted_at__isnull=True)
            .order_by("finished_at")[:DELETE_BATCH]
        )
        for export in due:
            if export.file.name:
                export.file.storage.delete(export.file.name)  # a missing file is fine: it is gone either way
                deleted += 1
            export.file = ""
            export.file_deleted_at = now
        Export.objects.bulk_update(due, ["file", "file_deleted_at"])
    return deleted + _delete_abandoned_parts(now)


def _delete_abandoned_parts(now: datetime) -> int:
    """Temporary files of exports whose worker was killed mid-write (no cleanup ran), once a day old."""
    root = Path(default_storage.path("exports"))
    if not root.is_dir():
        return 0
    cutoff = (now - ABANDONED_PART_AGE).timestamp()
    count = 0
    for part in root.rglob(".export-*.part"):
        if part.stat().st_mtime < cutoff:
            part.unlink(missing_ok=True)
            count += 1
    return count


# --- rows -----------------------------------------------------------------------------------------------------------

CONVERSATION_COLUMNS = (
    "conversation_id",
    "started_at",
    "ended_at",
    "status",
    "phase",
    "buyer",
    "agent",
    "group",
    "first_response_seconds",
    "max_response_seconds",
    "turns",
    "unanswered_turns",
    "rating",
)
MESSAGE_COLUMNS = ("message_id", "conversation_id", "buyer", "sent_at", "sender", "agent", "auto_reply", "body")
_DATETIME_COLUMNS = {"started_at", "ended_at", "sent_at"}
# Free text is neutralised; status, phase and sender are the model's own choice words.
_TEXT_COLUMNS = {"buyer", "agent", "group", "body"}


def local_time_sql(column: str, *, for_xlsx: bool) -> tuple[str, list]:
    """SQL for ``column`` in the shop's local time (the time zone is the one param), or the bare column.

    PostgreSQL formats in the database (text for CSV, a naive timestamp for XLSX), which is several times cheaper
    than building timezone-aware datetimes in Python; SQLite has no time zones, so ``row_formatter`` converts.
    Both give whole seconds.
    """
    if connection.vendor == "postgresql":
        if for_xlsx:
            return f"date_trunc('second', {column} AT TIME ZONE %s)", [None]
        return f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI:SS')", [None]
    return column, []


def export_rows_sql(*, kind: str, conversations, tz_name: str, for_xlsx: bool = False) -> tuple[str, list, tuple]:
    """``(sql, params, columns)`` of the export's rows for a queryset of conversations, oldest first."""
    ids_sql, ids_params = conversations.order_by().values("pk").query.sql_with_params()
    tables = {
        "conversation": Conversation._meta.db_table,
        "message": Message._meta.db_table,
        "buyer": Buyer._meta.db_table,
        "agent": Agent._meta.db_table,
        "group": RoutingGroup._meta.db_table,
    }

    def local(column: str) -> str:
        sql, tz_params = local_time_sql(column, for_xlsx=for_xlsx)
        time_params.extend(tz_name for _ in tz_params)
        return sql

    time_params: list = []
    if kind == ExportKind.MESSAGES:
        sql = f"""
SELECT m.id, m.conversation_id, b.nick, {local("m.sent_at")}, m.sender, a.display_name,
       CASE WHEN m.is_auto_reply THEN 1 ELSE 0 END, m.body
FROM {tables["message"]} m
JOIN {tables["conversation"]} c ON c.id = m.conversation_id
JOIN {tables["buyer"]} b ON b.id = c.buyer_id
LEFT JOIN {tables["agent"]} a ON a.id = m.agent_id
WHERE m.conversation_id IN ({ids_sql})
ORDER BY m.conversation_id, m.sent_at, m.id
"""
        return sql, [*time_params, *ids_params], MESSAGE_COLUMNS
    summary_sql, summary_params = conversation_summary_sql(ConversationFilter(conversations=conversations))
    sql = f"""
SELECT c.id, {local("c.started_at")}, {local("c.ended_at")}, c.status, c.phase, b.nick, a.display_name, g.name,
       s.first_response_seconds, s.max_response_seconds, COALESCE(s.turns, 0), COALESCE(s.unanswered_turns, 0),
       {latest_rating_sql("c.id")}
FROM {tables["conversation"]} c
JOIN {tables["buyer"]} b ON b.id = c.buyer_id
LEFT JOIN {tables["agent"]} a ON a.id = c.agent_id
LEFT JOIN {tables["group"]} g ON g.id = c.group_id
LEFT JOIN ({summary_sql}) s ON s.conversation_id = c.id
WHERE c.id IN ({ids_sql})
ORDER BY c.started_at, c.id
"""
    return sql, [*time_params, *summary_params, *ids_params], CONVERSATION_COLUMNS


def stream_chunks(sql: str, params: list, *, chunk_rows: int | None = None) -> Iterator[list[tuple]]:
    """Rows of ``sql`` in lists of ``chunk_rows``, from a server-side cursor (PostgreSQL) or a plain one."""
    chunk_rows = chunk_rows or settings.EXPORT_CHUNK_ROWS
    # Inside a transaction the PostgreSQL cursor is not WITH HOLD, so rows flow as they are produced instead of
    # being materialised on the server at the first commit.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_rows):
            yield rows


def row_formatter(columns: Iterable[str], *, tz, for_xlsx: bool) -> Callable[[tuple], list]:
    """A function turning a raw row into cells: neutralised free text, local times where SQL could not do them."""
    columns = tuple(columns)
    times_in_sql = connection.vendor == "postgresql"  # see local_time_sql
    datetimes = [] if times_in_sql else [i for i, name in enumerate(columns) if name in _DATETIME_COLUMNS]
    texts = [i for i, name in enumerate(columns) if name in _TEXT_COLUMNS]
    clean = _xlsx_clean if for_xlsx else None

    def local(value):
        if value is None:
            return None
        # Raw SQLite rows carry datetimes as text or naive datetimes, in UTC.
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        value = value.astimezone(tz).replace(tzinfo=None, microsecond=0)
        return value if for_xlsx else value.isoformat(sep=" ")

    def format_row(row: tuple) -> list:
        cells = list(row)
        for i in datetimes:
            cells[i] = local(cells[i])
        for i in texts:
            value = neutralise_cell(cells[i])
            cells[i] = clean(value) if clean and value else value
        return cells

    if not datetimes and not clean and columns in _FAST_CSV_ROWS:
        return _FAST_CSV_ROWS[columns]
    return format_row


# The PostgreSQL CSV hot path (times already local, from SQL): only the free-text cells change. Spelled out per
# layout because building the tuple by index is about three times faster than copying and patching a list, which
# is most of the export's own cost at a million rows. ``test_exports`` checks them against the generic path.
def _message_csv_row(r, n=neutralise_cell):
    # message_id, conversation_id, buyer, sent_at, sender, agent, auto_reply, body
    return (r[0], r[1], n(r[2]), r[3], r[4], n(r[5]), r[6], n(r[7]))


def _conversation_csv_row(r, n=neutralise_cell):
    # conversation_id, started_at, ended_at, status, phase, buyer, agent, group, figures..., rating
    return (r[0], r[1], r[2], r[3], r[4], n(r[5]), n(r[6]), n(r[7]), r[8], r[9], r[10], r[11], r[12])


_FAST_CSV_ROWS = {MESSAGE_COLUMNS: _message_csv_row, CONVERSATION_COLUMNS: _conversation_csv_row}


def _xlsx_clean(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


def write_csv(handle, columns: tuple[str, ...], chunks: Iterable[list]) -> int:
    """Write a header and the rows of ``chunks`` (lists of rows) as CSV to an open text file; returns the row count."""
    writer = csv.writer(handle)
    writer.writerow(columns)
    count = 0
    for chunk in chunks:
        writer.writerows(chunk)
        count += len(chunk)
    return count


def write_xlsx(path: str, columns: tuple[str, ...], rows: Iterable[list], *, title: str) -> int:
    """Write a header and ``rows`` to an XLSX workbook in openpyxl's write-only (streaming) mode."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet, sheet_rows, count, part = None, 0, 0, 0
    for row in rows:
        if sheet is None or sheet_rows >= XLSX_MAX_ROWS:
            part += 1
            sheet = workbook.create_sheet(title=title if part == 1 else f"{title} ({part})")
            sheet.append(list(columns))
            sheet_rows = 1
        sheet.append(row)
        sheet_rows += 1
        count += 1
    if sheet is None:
        workbook.create_sheet(title=title).append(list(columns))
    workbook.save(path)
    return count


def export_queryset(export: Export):
    """The conversations an export covers: its shop's, narrowed by its recorded filters."""
    filters = MonitoringFilters.from_json(export.filters, tz=export.shop.tzinfo)
    return monitoring_conversation_filter(Conversation.objects.filter(shop_id=export.shop_id), filters)


def _write_file(export: Export) -> tuple[str, int]:
    tz = export.shop.tzinfo
    is_xlsx = export.format == ExportFormat.XLSX
    sql, params, columns = export_rows_sql(
        kind=export.kind, conversations=export_queryset(export), tz_name=export.shop.timezone, for_xlsx=is_xlsx
    )
    format_row = row_formatter(columns, tz=tz, for_xlsx=is_xlsx)
    # A chunk at a time: memory is bounded by a chunk, and per-row generator layers are avoided.
    chunks = ([format_row(row) for row in chunk] for chunk in stream_chunks(sql, params))
    stamp = timezone.now().astimezone(tz)
    name = default_storage.get_available_name(f"exports/{stamp:%Y/%m}/{export.filename}")
    final_path = Path(default_storage.path(name))
    final_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(dir=final_path.parent, prefix=".export-", suffix=".part")
    try:
        if is_xlsx:
            os.close(handle)
            rows = (row for chunk in chunks for row in chunk)
            count = write_xlsx(temp_path, columns, rows, title=export.kind)
        else:
            with open(handle, "w", encoding="utf-8", newline="", buffering=1 << 20) as file:
                file.write("\ufeff")  # a byte-order mark, so Excel opens Chinese text as UTF-8
                count = write_csv(file, columns, chunks)
        os.replace(temp_path, final_path)
    except BaseException:
        Path(temp_path).unlink(missing_ok=True)
        raise
    return name, count

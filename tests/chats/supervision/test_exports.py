"""Exports: jobs run on commit, files match the monitoring figures, cells are neutralised, memory stays flat."""

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from backoffice.spreadsheets import FORMULA_PREFIXES, neutralise_cell
from chats.choices import ConversationStatus, ExportFormat, ExportKind, ExportStatus
from chats.models import Conversation, Export, Message
from chats.supervision.exports import export_run, exports_delete_expired, row_formatter, write_csv
from chats.tasks import export_run_task, exports_delete_expired_task
from chats.turns import ConversationFilter
from chats.turns.store import turns_rebuild
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.conftest import client_for
from tests.evaluations.factories import EvaluationFactory
from tests.shops.factories import BuyerFactory, ShopFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/exports/"
T0 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def chat(shop, script, *, agent=None, started_at=T0, buyer=None):
    conversation = ConversationFactory(
        shop=shop,
        agent=agent,
        buyer=buyer or BuyerFactory(),
        started_at=started_at,
        status=ConversationStatus.HUMAN if agent else ConversationStatus.BOT,
    )
    for offset, sender, *body in script:
        MessageFactory(
            conversation=conversation,
            sender=sender,
            agent=agent if sender == "agent" else None,
            body=body[0] if body else f"{sender} {offset}",
            sent_at=started_at + timedelta(seconds=offset),
        )
    return conversation


@pytest.fixture
def chats_of_shop(shop):
    agent = AgentFactory(shop=shop, display_name="=Xiao Li")  # a name that looks like a formula
    first = chat(
        shop,
        [(0, "buyer", '=HYPERLINK("http://evil")'), (45, "agent", "亲，在的"), (100, "buyer"), (400, "agent")],
        agent=agent,
        buyer=BuyerFactory(nick="@nick"),
    )
    second = chat(shop, [(0, "buyer", "-2+3"), (20, "bot")], started_at=T0 + timedelta(hours=2))
    EvaluationFactory(conversation=second, score=5)
    chat(ShopFactory(name="Shop B"), [(0, "buyer"), (5, "bot")])
    return first, second


def create_export(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"id", "status"}
    # The job, enqueued once; the eager run's export.finished also wakes the outbox's consumers after its commit.
    assert len([callback for callback in callbacks if callback.__module__ != "events.outbox"]) == 1
    return Export.objects.get(pk=response.json()["id"])


def download(client, export) -> bytes:
    response = client.get(f"{URL}{export.pk}/download/")
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content)


def test_conversation_export_matches_the_monitoring_figures(
    owner, owner_client, chats_of_shop, django_capture_on_commit_callbacks
):
    export = create_export(owner_client, django_capture_on_commit_callbacks, kind="conversations", format="csv")
    export.refresh_from_db()
    assert (export.status, export.rows, export.requested_by_id, export.shop_id) == (
        "done",
        2,
        owner.user_id,
        owner.shop_id,
    )
    content = download(owner_client, export)
    assert content.startswith("\ufeff".encode())  # BOM: Excel opens UTF-8 Chinese correctly
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    monitoring = {row["id"]: row for row in owner_client.get("/api/v1/monitoring/conversations/").json()["results"]}
    assert len(rows) == len(monitoring) == 2
    for row in rows:
        seen = monitoring[int(row["conversation_id"])]
        for name in ("first_response_seconds", "max_response_seconds", "turns", "unanswered_turns", "rating"):
            expected = "" if seen[name] is None else str(seen[name])
            assert row[name] == expected, (name, row[name], seen[name])
    first, second = chats_of_shop
    by_id = {int(row["conversation_id"]): row for row in rows}
    assert (by_id[first.pk]["first_response_seconds"], by_id[first.pk]["max_response_seconds"]) == ("45.0", "300.0")
    assert by_id[first.pk]["agent"] == "'=Xiao Li"
    assert by_id[first.pk]["buyer"] == "'@nick"
    assert by_id[first.pk]["started_at"] == "2024-05-06 10:00:00"  # the shop's local time
    assert by_id[second.pk]["rating"] == "5"


def test_message_export_in_order_with_neutralised_bodies(
    owner_client, chats_of_shop, django_capture_on_commit_callbacks
):
    export = create_export(owner_client, django_capture_on_commit_callbacks, kind="messages", format="csv")
    rows = list(csv.DictReader(io.StringIO(download(owner_client, export).decode("utf-8-sig"))))
    assert [row["body"] for row in rows] == [
        '\'=HYPERLINK("http://evil")',
        "亲，在的",
        "buyer 100",
        "agent 400",
        "'-2+3",
        "bot 20",
    ]
    assert rows[1]["sender"] == "agent" and rows[1]["agent"] == "'=Xiao Li" and rows[1]["auto_reply"] == "0"


def test_xlsx_export_streams_a_workbook(owner_client, chats_of_shop, django_capture_on_commit_callbacks):
    export = create_export(owner_client, django_capture_on_commit_callbacks, kind="messages", format="xlsx")
    workbook = load_workbook(io.BytesIO(download(owner_client, export)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("message_id", "conversation_id", "buyer", "sent_at")
    assert len(rows) == 7
    assert rows[1][7] == '\'=HYPERLINK("http://evil")'
    assert rows[1][3] == datetime(2024, 5, 6, 10, 0)  # a real date cell, local time


def test_filters_are_recorded_and_applied(owner_client, chats_of_shop, django_capture_on_commit_callbacks):
    first, _second = chats_of_shop
    export = create_export(
        owner_client,
        django_capture_on_commit_callbacks,
        kind="conversations",
        format="csv",
        filters={"date_from": "2024-05-06", "min_response_seconds": 100, "unanswered": False},
    )
    export.refresh_from_db()
    assert export.filters == {"date_from": "2024-05-06", "min_response_seconds": 100.0, "unanswered": False}
    rows = list(csv.DictReader(io.StringIO(download(owner_client, export).decode("utf-8-sig"))))
    assert [int(row["conversation_id"]) for row in rows] == [first.pk]
    detail = owner_client.get(f"{URL}{export.pk}/").json()
    assert (detail["status"], detail["rows"], detail["requested_by"]) == ("done", 1, export.requested_by.username)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "orders", "format": "csv"}, "kind"),
        ({"kind": "messages", "format": "pdf"}, "format"),
        ({"kind": "messages", "format": "csv", "filters": {"colour": "red"}}, "filters"),
        ({"kind": "messages", "format": "csv", "filters": {"agent": [1, 2]}}, "filters"),
        ({"kind": "messages", "format": "csv", "filters": {"date_from": "May"}}, "filters"),
        ({"kind": "messages", "format": "csv", "filters": "everything"}, "filters"),
        ({"kind": "messages", "format": "csv", "filters": {"agent": 999999}}, "filters"),
    ],
)
def test_bad_export_requests_are_400_and_create_nothing(owner_client, body, field):
    response = owner_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Export.objects.count() == 0


def test_platform_staff_name_the_shop(staff_client, shop, django_capture_on_commit_callbacks):
    response = staff_client.post(URL, {"kind": "messages", "format": "csv"}, format="json")
    assert response.status_code == 400
    assert "shop" in response.json()["filters"]
    export = create_export(
        staff_client, django_capture_on_commit_callbacks, kind="messages", format="csv", filters={"shop": shop.pk}
    )
    assert export.shop_id == shop.pk


def test_agents_and_integrations_may_not_export(agent_client, integration_client, owner, shop):
    export = Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv")
    for client in (agent_client, integration_client):
        assert client.post(URL, {"kind": "messages", "format": "csv"}, format="json").status_code == 403
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}{export.pk}/").status_code == 403
        assert client.get(f"{URL}{export.pk}/download/").status_code == 403
    assert Export.objects.count() == 1


def test_another_shops_export_is_404(owner_client, other_shop):
    theirs = Export.objects.create(shop=other_shop, kind="messages", format="csv")
    assert owner_client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert owner_client.get(f"{URL}{theirs.pk}/download/").status_code == 404
    assert theirs.pk not in [row["id"] for row in owner_client.get(URL).json()["results"]]


def test_download_is_409_until_done_and_410_after_retention(owner_client, owner, shop, settings):
    export = Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv")
    response = owner_client.get(f"{URL}{export.pk}/download/")
    assert response.status_code == 409
    assert export_run_task.delay(export.pk).get() == 0
    assert owner_client.get(f"{URL}{export.pk}/download/").status_code == 200
    export.refresh_from_db()
    path = export.file.path
    settings.EXPORT_RETENTION_DAYS = 7
    assert exports_delete_expired(now=export.finished_at + timedelta(days=6)) == 0
    assert exports_delete_expired_task.delay().get() == 0  # finished just now: kept
    assert exports_delete_expired(now=export.finished_at + timedelta(days=7, seconds=1)) == 1
    assert exports_delete_expired(now=export.finished_at + timedelta(days=8)) == 0  # twice: nothing more
    export.refresh_from_db()
    assert export.file_deleted_at is not None and export.file.name == ""
    import os

    assert not os.path.exists(path)
    assert owner_client.get(f"{URL}{export.pk}/download/").status_code == 410
    assert owner_client.get(f"{URL}{export.pk}/").json()["download_url"] is None


def test_task_twice_writes_once(shop, owner, chats_of_shop):
    export = Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv")
    assert export_run_task.delay(export.pk).get() == 6
    export.refresh_from_db()
    first_file, finished = export.file.name, export.finished_at
    assert export_run_task.delay(export.pk).get() is None  # already done: nothing rewritten
    export.refresh_from_db()
    assert (export.file.name, export.finished_at) == (first_file, finished)
    assert export_run_task.delay(999_999).get() is None  # gone: quietly nothing


def test_failure_is_recorded_and_leaves_no_partial_file(shop, owner, chats_of_shop, monkeypatch):
    import chats.supervision.exports as exports

    def broken(handle, columns, chunks):
        handle.write("half a row")
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "write_csv", broken)
    export = Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv")
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.error, export.file.name) == ("failed", "RuntimeError: disk full", "")
    from django.conf import settings as django_settings

    leftovers = [p for p in __import__("pathlib").Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert leftovers == []


def test_export_enqueued_only_on_commit(owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(URL, {"kind": "messages", "format": "csv"}, format="json")
    assert response.status_code == 202
    assert Export.objects.get().status == ExportStatus.PENDING  # nothing ran before the commit
    assert len(callbacks) == 1


# --- neutralisation ---------------------------------------------------------------------------------------------------


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_neutralised_text_never_starts_like_a_formula_and_keeps_its_content(text):
    cell = neutralise_cell(text)
    if text.startswith(FORMULA_PREFIXES):
        assert cell == "'" + text
    else:
        assert cell == text
    assert not cell.startswith(FORMULA_PREFIXES)


@given(st.lists(st.text(), min_size=1, max_size=5))
@settings(max_examples=200, deadline=None)
def test_csv_cells_read_back_never_start_like_a_formula(bodies):
    columns = ("message_id", "conversation_id", "buyer", "sent_at", "sender", "agent", "auto_reply", "body")
    format_row = row_formatter(columns, tz=UTC, for_xlsx=False)
    rows = [format_row((1, 2, body, None, "buyer", body, 0, body)) for body in bodies]
    handle = io.StringIO(newline="")
    write_csv(handle, columns, [rows])
    parsed = list(csv.reader(io.StringIO(handle.getvalue(), newline="")))[1:]
    assert len(parsed) == len(bodies)
    for row, body in zip(parsed, bodies, strict=True):
        for cell in (row[2], row[5], row[7]):
            assert not cell.startswith(FORMULA_PREFIXES)
            assert cell in (body, "'" + body)


def test_numbers_are_not_prefixed():
    assert neutralise_cell(-5) == -5
    assert neutralise_cell(None) is None
    assert neutralise_cell("") == ""
    assert [neutralise_cell(p + "x") for p in ("=", "+", "-", "@", "\t", "\r")] == [
        "'=x",
        "'+x",
        "'-x",
        "'@x",
        "'\tx",
        "'\rx",
    ]


# --- memory -----------------------------------------------------------------------------------------------------------


def _bulk_messages(shop, count: int) -> None:
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(shop=shop, buyer=BuyerFactory(), phase="pre_sales", started_at=T0 + timedelta(minutes=i))
            for i in range(max(1, count // 50))
        ]
    )
    Message.objects.bulk_create(
        [
            Message(
                conversation=conversations[i % len(conversations)],
                sender="buyer" if i % 2 else "bot",
                body=f"消息 {i} " + "x" * 80,
                sent_at=T0 + timedelta(seconds=i),
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    turns_rebuild(conversations=ConversationFilter(shop_ids=[shop.pk]))


def _peak_bytes(shop, owner) -> tuple[int, int]:
    export = Export.objects.create(
        shop=shop, requested_by=owner.user, kind=ExportKind.MESSAGES, format=ExportFormat.CSV
    )
    tracemalloc.start()
    try:
        export_run(export_id=export.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    export.refresh_from_db()
    return export.rows, peak


def test_export_memory_stays_flat_as_rows_grow(shop, owner, settings):
    settings.EXPORT_CHUNK_ROWS = 500
    _bulk_messages(shop, 2_000)
    small_rows, small_peak = _peak_bytes(shop, owner)
    _bulk_messages(shop, 18_000)
    big_rows, big_peak = _peak_bytes(shop, owner)
    assert (small_rows, big_rows) == (2_000, 20_000)
    # Ten times the rows; the peak is bounded by a chunk, not by the export (a list of 20k rows is ~5 MB).
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)


def test_world_file_helper_is_in_the_media_root(shop, owner):
    export = Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv", status="done")
    export.file.save(export.filename, ContentFile(b"x"), save=True)
    assert export.file.path.startswith(str(__import__("django.conf").conf.settings.MEDIA_ROOT))
    client = client_for(owner.user)
    assert b"".join(client.get(f"{URL}{export.pk}/download/").streaming_content) == b"x"


@given(st.lists(st.one_of(st.none(), st.text(), st.integers()), min_size=13, max_size=13))
@settings(max_examples=200, deadline=None)
def test_fast_csv_rows_neutralise_exactly_the_free_text_columns(values):
    from chats.supervision.exports import (
        _FAST_CSV_ROWS,
        CONVERSATION_COLUMNS,
        MESSAGE_COLUMNS,
    )

    for columns in (MESSAGE_COLUMNS, CONVERSATION_COLUMNS):
        row = tuple(values[: len(columns)])
        expected = tuple(
            neutralise_cell(value) if name in ("buyer", "agent", "group", "body") else value
            for name, value in zip(columns, row, strict=True)
        )
        assert _FAST_CSV_ROWS[columns](row) == expected


def test_retention_sweep_deletes_abandoned_temporary_files_after_a_day():
    import os
    import time

    from django.conf import settings as django_settings

    folder = __import__("pathlib").Path(django_settings.MEDIA_ROOT) / "exports" / "2024" / "05"
    folder.mkdir(parents=True)
    old, fresh = folder / ".export-old.part", folder / ".export-fresh.part"
    old.write_text("half")
    fresh.write_text("still being written")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert exports_delete_expired() == 1
    assert exports_delete_expired() == 0
    assert (old.exists(), fresh.exists()) == (False, True)


@pytest.mark.postgres
def test_rows_stream_from_a_server_side_cursor_that_is_not_materialised(db):
    """On PostgreSQL the rows come from a named cursor inside a transaction (not WITH HOLD, so not materialised)."""
    from django.db import connection

    from chats.supervision.exports import stream_chunks

    chunks = stream_chunks("SELECT n FROM generate_series(1, 12000) AS n", [], chunk_rows=5000)
    first = next(chunks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE statement LIKE '%%generate_series%%'")
        assert cursor.fetchall() == [(False,)]
    assert [len(first), *(len(chunk) for chunk in chunks)] == [5000, 5000, 2000]


def test_export_list_filters_by_status_and_kind(owner_client, shop, other_shop):
    done = Export.objects.create(shop=shop, kind="messages", format="csv", status="done")
    Export.objects.create(shop=shop, kind="conversations", format="xlsx", status="failed")
    ids = [row["id"] for row in owner_client.get(URL, {"status": "done", "kind": "messages"}).json()["results"]]
    assert ids == [done.pk]
    assert owner_client.get(URL, {"status": "lost"}).status_code == 400
    response = owner_client.get(URL, {"shop": other_shop.pk})
    assert response.status_code == 400
    assert "shop" in response.json()

"""Admin for supervision: the export actions and list, downloads, the staffing page, and the retention schedule."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chats.choices import ExportKind, ExportStatus
from chats.models import Export
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_conversation_action_exports_the_selected_chats_one_file_per_shop(
    admin_client, django_capture_on_commit_callbacks
):
    shop_a, shop_b = ShopFactory(), ShopFactory()
    chosen = [ConversationFactory(shop=shop_a), ConversationFactory(shop=shop_a), ConversationFactory(shop=shop_b)]
    ConversationFactory(shop=shop_a)  # not selected
    for conversation in chosen:
        MessageFactory(conversation=conversation, sender="buyer", sent_at=conversation.started_at)
        MessageFactory(conversation=conversation, sender="bot", sent_at=conversation.started_at + timedelta(seconds=12))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:chats_conversation_changelist"),
            {"action": "export_conversations", "_selected_action": [c.pk for c in chosen]},
            follow=True,
        )
    assert response.status_code == 200
    exports = {export.shop_id: export for export in Export.objects.all()}
    assert set(exports) == {shop_a.pk, shop_b.pk}
    assert sorted(exports[shop_a.pk].filters["conversation_ids"]) == sorted([chosen[0].pk, chosen[1].pk])
    assert all(e.status == ExportStatus.DONE and e.kind == ExportKind.CONVERSATIONS for e in exports.values())
    download = admin_client.get(reverse("admin:chats_export_download", args=[exports[shop_a.pk].pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert sorted((int(r["conversation_id"]), r["first_response_seconds"]) for r in rows) == sorted(
        [(chosen[0].pk, "12.0"), (chosen[1].pk, "12.0")]
    )


def test_export_list_shows_status_and_download_link(admin_client, shop, owner):
    done = Export.objects.create(
        shop=shop, requested_by=owner.user, kind="messages", format="csv", status="done", rows=3
    )
    done.file.save(done.filename, io.BytesIO(b"a"), save=True)
    Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv", status="failed", error="x")
    response = admin_client.get(reverse("admin:chats_export_changelist"))
    assert response.status_code == 200
    assert reverse("admin:chats_export_download", args=[done.pk]).encode() in response.content


def test_run_again_requeues_failed_exports_only(admin_client, shop, owner, django_capture_on_commit_callbacks):
    failed = Export.objects.create(shop=shop, kind="messages", format="csv", status="failed", error="boom")
    done = Export.objects.create(shop=shop, kind="messages", format="csv", status="done", rows=5)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:chats_export_changelist"),
            {"action": "run_again", "_selected_action": [failed.pk, done.pk]},
        )
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.status, failed.error, failed.rows) == ("done", "", 0)
    assert (done.status, done.rows) == ("done", 5)


def test_shop_staff_download_only_their_shops_exports(shop_staff_admin_client, shop, other_shop):
    mine = Export.objects.create(shop=shop, kind="messages", format="csv", status="done")
    mine.file.save(mine.filename, io.BytesIO(b"mine"), save=True)
    theirs = Export.objects.create(shop=other_shop, kind="messages", format="csv", status="done")
    theirs.file.save(theirs.filename, io.BytesIO(b"theirs"), save=True)
    client = shop_staff_admin_client(shop, "view_export")
    assert b"".join(client.get(reverse("admin:chats_export_download", args=[mine.pk])).streaming_content) == b"mine"
    assert client.get(reverse("admin:chats_export_download", args=[theirs.pk])).status_code == 404


def test_staffing_page_prints_heatmap_chart_and_shifts(admin_client, shop):
    today = timezone.now().astimezone(shop.tzinfo).date()
    for days in (6, 13):
        ConversationFactory(shop=shop, started_at=timezone.now() - timedelta(days=days))
    url = reverse("admin:chats_staffingshop_change", args=[shop.pk])
    response = admin_client.get(url, {"date": (today + timedelta(days=1)).isoformat(), "handle_seconds": 3600})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<svg" in content and "<polyline" in content
    plan = response.context["plan"]
    assert plan.peak_agents >= 1
    assert len(response.context["heatmap_rows"]) == 7
    for shift in plan.shifts:
        assert f"{shift['start_hour']}:00" in content
    assert admin_client.get(url, {"target": "7", "weeks": "x"}).status_code == 200  # bad input: the form says so


def test_staffing_page_of_another_shop_is_not_shown_to_shop_staff(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_staffingshop")
    assert client.get(reverse("admin:chats_staffingshop_change", args=[shop.pk])).status_code == 200
    response = client.get(reverse("admin:chats_staffingshop_change", args=[other_shop.pk]))
    assert response.status_code == 302


def test_retention_sweep_is_scheduled_with_an_expiry_shorter_than_its_interval():
    task = PeriodicTask.objects.select_related("interval").get(task="chats.tasks.exports_delete_expired_task")
    assert task.enabled
    assert 0 < task.expire_seconds < task.interval.every

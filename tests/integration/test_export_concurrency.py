"""Concurrent runs of one export on PostgreSQL: the row lock lets exactly one worker write the file."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from chats.models import Export
from chats.supervision.exports import export_run
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import ShopFactory

from .concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_workers_running_one_export_write_it_once():
    shop = ShopFactory()
    start = datetime(2024, 5, 6, 2, tzinfo=UTC)
    for n in range(30):
        conversation = ConversationFactory(shop=shop, started_at=start + timedelta(minutes=n))
        MessageFactory(conversation=conversation, sender="buyer", sent_at=conversation.started_at)
    export = Export.objects.create(shop=shop, kind="messages", format="csv")

    def work():
        result = export_run(export_id=export.pk)
        return None if result is None else result.rows

    results = run_together(4, work)
    assert sorted(results, key=lambda r: r is None) == [30, None, None, None]
    export.refresh_from_db()
    assert (export.status, export.rows) == ("done", 30)
    written = [p for p in __import__("pathlib").Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert [p.name for p in written] == [export.file.name.rsplit("/", 1)[-1]]

"""What the emission tests share: the events a block of code emitted, and counting the outbox's INSERTs."""

from contextlib import contextmanager
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from events.models import Event

T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)  # rendered "2024-05-06T18:00:00+08:00" (Asia/Shanghai)
OUTBOX_INSERT = f'INSERT INTO "{Event._meta.db_table}"'


@contextmanager
def emitted():
    """The events stored inside the block, in insert order: ``with emitted() as events: ...``."""
    mark = Event.objects.aggregate(last=Max("seq"))["last"] or 0
    events: list[Event] = []
    yield events
    events.extend(Event.objects.filter(seq__gt=mark).order_by("seq"))


def types(events) -> list[str]:
    return [event.type for event in events]


def who(event) -> tuple:
    """Where an event belongs and who sees it: (shop, conversation, agent, previous agent, audience)."""
    return event.shop_id, event.conversation_id, event.agent_id, event.previous_agent_id, event.audience


def outbox_inserts(queries: CaptureQueriesContext) -> int:
    return sum(query["sql"].startswith(OUTBOX_INSERT) for query in queries.captured_queries)


@contextmanager
def queries():
    with CaptureQueriesContext(connection) as captured:
        yield captured


class Rollback(Exception):
    pass


def rolled_back(change) -> list[Event]:
    """Run ``change()`` in a transaction that is then rolled back; returns the events left afterwards."""
    with emitted() as events:
        try:
            with transaction.atomic():
                change()
                raise Rollback
        except Rollback:
            pass
    return events

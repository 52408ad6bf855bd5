"""The feed on PostgreSQL under concurrent writers: a client passing its last id sees every event once, in order.

Writers commit out of insert order on purpose (each holds its transaction open a random moment after inserting),
which is exactly what makes a naive ``seq > after`` reader skip events; the first test shows that it does.
"""

import json
import random
import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from events.choices import EventType
from events.feed import events_after_rows, events_sequence
from events.models import Event
from events.outbox import event_emit
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8
EVENTS_PER_WRITER = 60


def _feed_page(after: int, limit: int) -> list[tuple[int, dict]]:
    """(position, data) of a page read the way the feed endpoint reads it (``events_after_rows``)."""
    return [(row[0], json.loads(row[-1])) for row in events_after_rows(Event.objects.all(), after=after, limit=limit)]


def _in_thread(fn):
    def run():
        try:
            fn()
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_naive_reader_skips_a_late_commit_and_the_feed_does_not():
    shop = ShopFactory()
    first_inserted, second_committed = threading.Event(), threading.Event()
    seqs = {}

    def slow_writer():  # inserts first, commits last
        with transaction.atomic():
            seqs["slow"] = event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={"w": "slow"}).seq
            first_inserted.set()
            second_committed.wait(10)

    slow = _in_thread(slow_writer)
    first_inserted.wait(10)
    with transaction.atomic():
        seqs["fast"] = event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={"w": "fast"}).seq
    assert seqs["slow"] < seqs["fast"]

    # Both readers look now, while the slow transaction is still open.
    naive_seen = list(Event.objects.filter(seq__gt=0).order_by("seq").values_list("seq", flat=True))
    events_sequence()
    feed_page = _feed_page(0, 100)
    feed_seen = [data["w"] for _, data in feed_page]
    naive_last = naive_seen[-1]
    feed_last = feed_page[-1][0]

    second_committed.set()
    slow.join(10)

    naive_later = list(Event.objects.filter(seq__gt=naive_last).values_list("seq", flat=True))
    events_sequence()
    feed_later = [data["w"] for _, data in _feed_page(feed_last, 100)]
    assert naive_seen + naive_later == [seqs["fast"]]  # the slow event is lost to the naive reader
    assert feed_seen + feed_later == ["fast", "slow"]  # the feed gives both, in commit order


def test_eight_concurrent_writers_and_a_polling_reader_no_gap_no_duplicate():
    shop = ShopFactory()
    committed, lock, done = {}, threading.Lock(), threading.Event()
    seen_positions, seen, errors = [], [], []

    def writer(number):
        rng = random.Random(number)
        try:
            for n in range(EVENTS_PER_WRITER):
                rolled_back = n % 10 == 9
                try:
                    with transaction.atomic():
                        event = event_emit(
                            type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={"writer": number, "n": n}
                        )
                        time.sleep(rng.random() * 0.004)  # commit a moment later, out of insert order
                        if rolled_back:
                            raise RuntimeError("roll back")
                except RuntimeError:
                    continue
                with lock:
                    committed[(number, n)] = event.seq
        except Exception as error:  # noqa: BLE001 -- reported below
            errors.append(repr(error))

    def reader():
        after = 0
        try:
            while True:
                finished = done.is_set()
                events_sequence()
                page = _feed_page(after, 50)
                for position, data in page:
                    seen_positions.append(position)
                    seen.append((data["writer"], data["n"]))
                if page:
                    after = page[-1][0]
                elif finished:
                    return
                else:
                    time.sleep(0.001)
        except Exception as error:  # noqa: BLE001 -- reported below
            errors.append(repr(error))

    reading = _in_thread(reader)
    writers = [_in_thread(lambda number=number: writer(number)) for number in range(WRITERS)]
    for thread in writers:
        thread.join(120)
    done.set()
    reading.join(120)

    assert errors == []
    assert len(committed) == WRITERS * EVENTS_PER_WRITER * 9 // 10
    assert seen_positions == sorted(seen_positions)  # ascending ids
    assert len(seen) == len(set(seen))  # no duplicate
    assert set(seen) == set(committed)  # no gap: every committed event, nothing rolled back
    assert Event.objects.count() == len(committed)
    # The run did commit out of insert order (what a naive reader would have got wrong).
    seen_seqs = [committed[key] for key in seen]
    assert seen_seqs != sorted(seen_seqs)

"""Nightly rollups per shop-local day, the tasks run twice, the beat schedules and the rollup_metrics command."""

import importlib
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from evaluations.services import daily_metrics_rollup_nightly
from evaluations.tasks import daily_metrics_rollup_nightly_task, daily_metrics_rollup_task
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def shop_rows():
    return sorted(
        DailyMetric.objects.filter(scope=MetricScope.SHOP).values_list("shop_id", "date", "conversations"),
    )


def test_nightly_rolls_up_each_shops_own_yesterday():
    shanghai, los_angeles = ShopFactory(), ShopFactory(timezone="America/Los_Angeles")
    now = datetime(2024, 5, 6, 17, 10, tzinfo=UTC)  # Shanghai 05-07 01:10, Los Angeles 05-06 10:10
    ConversationFactory(shop=shanghai, started_at=datetime(2024, 5, 6, 3, tzinfo=UTC))  # Shanghai 05-06 11:00
    ConversationFactory(shop=los_angeles, started_at=datetime(2024, 5, 5, 20, tzinfo=UTC))  # LA 05-05 13:00
    assert daily_metrics_rollup_nightly(days_ago=1, now=now) == 6  # shop, pre-sales and served-by rows each
    assert shop_rows() == [(shanghai.pk, date(2024, 5, 6), 1), (los_angeles.pk, date(2024, 5, 5), 1)]
    daily_metrics_rollup_nightly(days_ago=4, now=now)
    assert DailyMetric.objects.filter(shop=shanghai, date=date(2024, 5, 3)).exists()
    assert DailyMetric.objects.filter(shop=los_angeles, date=date(2024, 5, 2)).exists()


def test_nightly_task_runs_twice_with_the_same_rows(shop):
    yesterday = timezone.now().astimezone(shop.tzinfo).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, datetime.min.time(), tzinfo=shop.tzinfo) + timedelta(hours=12)
    ConversationFactory.create_batch(3, shop=shop, started_at=noon)
    assert daily_metrics_rollup_nightly_task.delay(days_ago=1).get() == 3  # shop, pre-sales and bot rows
    first = shop_rows()
    assert daily_metrics_rollup_nightly_task.delay(days_ago=1).get() == 3
    assert shop_rows() == first == [(shop.pk, yesterday, 3)]


def test_one_day_task_runs_twice_safely(shop):
    ConversationFactory(shop=shop, started_at=datetime(2024, 5, 6, 3, tzinfo=UTC))
    assert daily_metrics_rollup_task.delay("2024-05-06", [shop.pk]).get() == 3
    assert daily_metrics_rollup_task.delay("2024-05-06", [shop.pk]).get() == 3
    assert shop_rows() == [(shop.pk, date(2024, 5, 6), 1)]


def test_beat_schedules_run_nightly_for_d1_d2_d4_with_expiries():
    from django.apps import apps

    migration = importlib.import_module("evaluations.migrations.0004_metrics_schedules")
    # Applied by migrate; applied again here (another test module may have flushed the database): update_or_create,
    # so running it twice leaves three schedules.
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)
    schedules = PeriodicTask.objects.filter(task="evaluations.tasks.daily_metrics_rollup_nightly_task").select_related(
        "crontab"
    )
    assert sorted(json.loads(s.kwargs)["days_ago"] for s in schedules) == [1, 2, 4]
    for schedule in schedules:
        assert schedule.enabled and schedule.crontab is not None
        assert str(schedule.crontab.timezone) == "Asia/Shanghai"
        assert (schedule.crontab.hour, schedule.crontab.minute) in {("1", "10"), ("1", "30"), ("1", "50")}
        assert 0 < schedule.expire_seconds < 24 * 3600


def test_command_recomputes_one_day_for_one_shop(shop, other_shop):
    ConversationFactory(shop=shop, started_at=datetime(2024, 5, 6, 3, tzinfo=UTC))
    out = io.StringIO()
    call_command("rollup_metrics", "--date", "2024-05-06", "--shop", str(shop.pk), stdout=out, stderr=io.StringIO())
    call_command("rollup_metrics", "--date", "2024-05-06", "--shop", str(shop.pk), stdout=out, stderr=io.StringIO())
    assert shop_rows() == [(shop.pk, date(2024, 5, 6), 1)]
    assert "1 day(s), 3 metric rows written." in out.getvalue()


def test_command_backfills_a_range_with_a_progress_bar(shop, other_shop):
    err = io.StringIO()
    call_command("rollup_metrics", "--from", "2024-05-01", "--to", "2024-05-03", stdout=io.StringIO(), stderr=err)
    assert len(shop_rows()) == 6  # two shops, three days
    assert "3/3" in err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--date", "2024-05-06", "--from", "2024-05-01"],
        ["--from", "2024-05-03", "--to", "2024-05-01"],
        ["--from", "2024-05-03"],
        ["--date", "06/05/2024"],
        ["--date", "2024-05-06", "--shop", "999999"],
    ],
)
def test_command_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        call_command("rollup_metrics", *args, stdout=io.StringIO(), stderr=io.StringIO())

"""The events app's beat schedules: declared once, applied by its migration (and only its own), removed on reverse."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from backoffice.celery import app as celery_app

pytestmark = pytest.mark.django_db

NAMES = {
    "events: dispatch webhooks": "events.tasks.webhooks_dispatch_task",
    "events: retry webhook deliveries": "events.tasks.webhook_deliveries_retry_due_task",
    "events: delete expired events": "events.tasks.events_delete_expired_task",
}


def test_the_migrations_leave_the_events_schedules_enabled_on_registered_tasks():
    celery_app.loader.import_default_modules()
    rows = {row.name: row for row in PeriodicTask.objects.filter(name__startswith="events: ")}
    assert {name: row.task for name, row in rows.items()} == NAMES
    assert all(row.enabled and row.task in celery_app.tasks for row in rows.values())


def test_the_migration_applies_only_its_own_schedules_and_reverses():
    migration = importlib.import_module("events.migrations.0002_beat_schedules")
    apps = MigrationExecutor(connection).loader.project_state(("events", "0002_beat_schedules")).apps
    PeriodicTask.objects.all().delete()

    migration.apply_events_schedules(apps, None)
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == set(NAMES)
    migration.apply_events_schedules(apps, None)  # twice: the same rows
    assert PeriodicTask.objects.count() == len(NAMES)

    migration.delete_events_schedules(apps, None)
    assert not PeriodicTask.objects.exists()

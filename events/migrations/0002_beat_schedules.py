"""The events app's beat schedules (webhook dispatch and retries, event retention), as ``backoffice/schedules.py``
declares them; only those: the other apps' rows are their migrations' (``evaluations/0008`` applies the whole
declaration on a fresh database, which finds these rows already right). Reverse deletes them by name."""

from django.db import migrations

TASK_PREFIX = "events.tasks."


def _declared():
    from backoffice.schedules import SCHEDULES

    return tuple(schedule for schedule in SCHEDULES if schedule.task.startswith(TASK_PREFIX))


def apply_events_schedules(apps, schema_editor):
    from backoffice.schedules import periodic_tasks_apply

    periodic_tasks_apply(apps=apps, schedules=_declared())


def delete_events_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[schedule.name for schedule in _declared()]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_outbox_and_webhooks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(apply_events_schedules, delete_events_schedules, elidable=False)]

"""The beat schedules are declared in ``backoffice/schedules.py`` from here on; this applies the declaration.

Earlier migrations (chats 0003, 0004, 0005; evaluations 0002, 0004) created the rows; this one takes them over with
the historical models: it sets the declared task, schedule, kwargs, expiry and description on each row (keeping an
operator's ``enabled``) and points every row still naming a renamed task at the new name (old names stay registered
in Celery as aliases, so rows and messages a step behind keep running). Later changes to the declaration are rolled
out by ``manage.py setup_periodic_tasks``. Reverse is a no-op: the old task names still run, and the earlier
migrations' reverse functions delete the rows by name.
"""

from django.db import migrations


def apply_declared_schedules(apps, schema_editor):
    from backoffice.schedules import periodic_tasks_apply

    periodic_tasks_apply(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0007_message_bot_index"),
        ("evaluations", "0007_daily_metric_one_key"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(apply_declared_schedules, migrations.RunPython.noop, elidable=False)]

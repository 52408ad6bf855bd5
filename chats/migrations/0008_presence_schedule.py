"""The presence sweep's beat schedule ("chats: set absent agents offline"). Forward applies the whole declaration of
``backoffice/schedules.py`` (as ``evaluations/0008`` does), after the events app's schedules (``events/0002``), so a
database already past ``evaluations/0008`` gets the new row and one migrated afresh finds every row already right.
Reverse deletes the presence row by name."""

from django.db import migrations

NAME = "chats: set absent agents offline"


def apply_declared_schedules(apps, schema_editor):
    from backoffice.schedules import periodic_tasks_apply

    periodic_tasks_apply(apps=apps)


def delete_presence_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0007_message_bot_index"),
        ("events", "0002_beat_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(apply_declared_schedules, delete_presence_schedule, elidable=False)]

"""Beat schedules of the chat lifecycle, created here and editable in the admin afterwards."""

from django.db import migrations

SCHEDULES = [
    # (name, task, every seconds, expires seconds: shorter than the interval, so a backlog is not replayed)
    ("chats: queue sweep", "chats.tasks.queue_sweep_task", 30, 25),
    ("chats: close idle conversations", "chats.tasks.close_idle_conversations_task", 60, 50),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, expires in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "expire_seconds": expires, "enabled": True},
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0002_chat_lifecycle"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

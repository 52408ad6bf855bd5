"""Nightly metric rollups (D-1 provisional, D-2 satisfaction final, D-4 FCR final), editable in the admin afterwards.

Crontabs run in Asia/Shanghai; each run rolls up every shop's *own* local day ``today - days_ago`` (see
``daily_metrics_rollup_nightly``), which has ended whatever the shop's time zone, so one schedule serves them all.
"""

import json

from django.db import migrations

SCHEDULES = [
    # (name, minute, hour, days_ago)
    ("evaluations: metrics rollup D-1 (provisional)", "10", "1", 1),
    ("evaluations: metrics rollup D-2 (satisfaction final)", "30", "1", 2),
    ("evaluations: metrics rollup D-4 (FCR final)", "50", "1", 4),
]
TASK = "evaluations.tasks.daily_metrics_rollup_nightly_task"
EXPIRES = 6 * 3600  # a day's interval; a run missed by more than six hours waits for the next night


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, minute, hour, days_ago in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": TASK,
                "crontab": crontab,
                "interval": None,
                "kwargs": json.dumps({"days_ago": days_ago}),
                "expire_seconds": EXPIRES,
                "enabled": True,
            },
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0003_daily_metrics"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

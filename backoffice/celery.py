"""The Celery application; tasks are discovered in every installed app's ``tasks.py``.

This module is process bootstrap: app code does not import it. Tasks are declared with
``backoffice.schedules.domain_task`` (late acks, the one retry policy), and the beat schedules are declared there too.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

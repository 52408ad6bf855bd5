"""Fixtures shared by the integration tests (real worker and server processes)."""

import pytest

from backoffice.celery import app as celery_app


@pytest.fixture
def eager_off():
    """The test settings run tasks eagerly; here they must go through the broker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous

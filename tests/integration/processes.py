"""Real processes for the integration tests: a Celery worker or a web server on the test database and broker."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from backoffice.celery import app as celery_app

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"
READY_SECONDS = 60


def broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    # The filesystem broker is per-process-tree local and not what these tests are about: use Redis then.
    return url if url and not url.startswith("filesystem://") else DEFAULT_BROKER_URL


def skip_unless_broker_reachable(url: str) -> None:
    try:
        with celery_app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no broker here"
        pytest.skip(f"broker {url} is unreachable ({error.__class__.__name__}: {error}); start Redis to run this test")


def database_url() -> str:
    """The test database (``test_...``) as a URL, so a child process writes where the test reads."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def child_env(broker: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": broker,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        **extra,
    }


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    process: subprocess.Popen,
    log: Path,
    what: str,
    *,
    every: float = 0.25,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            pytest.fail(f"the process exited ({process.returncode}) before {what}:\n{log.read_text()}")
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}:\n{log.read_text()}")


def unique_queue() -> str:
    """A queue of its own, so a developer's worker on the same broker cannot take the test's messages."""
    return f"itest-{uuid.uuid4().hex[:12]}"


def start(command: list[str], env: dict[str, str], log: Path, *, new_session: bool = False) -> subprocess.Popen:
    """Start ``command`` logging to ``log``; ``new_session`` makes it lead a process group (to kill it whole)."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def worker_command(queue: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        *("-m", "celery", "-A", "backoffice", "worker", "--loglevel=info"),
        *("--queues", queue, "--hostname", f"{queue}@%h"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        *extra,
    ]


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (Celery's warm shutdown, gunicorn's graceful stop), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def forget_queue(broker: str, queue: str) -> None:
    """Drop the one-off queue's bookkeeping keys, so runs leave nothing behind in the broker's database."""
    if broker.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(broker)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""The production process layout of the Procfile runs as written: gunicorn (ASGI, uvicorn workers) and a Celery worker
on production settings (no debug, settings from the environment only), each answering its health endpoint, and the
web process serving the live WebSocket on the same port."""

import json
import secrets
import shlex
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from agents.choices import AgentRole
from tests.agents.factories import AgentFactory

from . import processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def procfile() -> dict[str, str]:
    lines = (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
    entries = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): command.strip() for name, command in entries}


def _production_env(broker: str, port: int) -> dict[str, str]:
    return processes.child_env(
        broker,
        DJANGO_SETTINGS_MODULE="backoffice.settings.base",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_CONN_MAX_AGE="60",  # the production default; the web process must not keep connections under ASGI
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        CELERY_WORKER_CONCURRENCY="1",
        PATH=f"{Path(sys.executable).parent}:{processes.os.environ.get('PATH', '')}",
    )


def _get(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _api_with_a_bad_token(base: str) -> int:
    """A request that reaches the database (the token lookup), as the TLS proxy forwards it."""
    headers = {"Authorization": "Token not-a-token", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    try:
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/shops/", headers=headers), timeout=10)  # noqa: S310
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def _other_connections() -> int:
    """Connections to the test database besides this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _shell(command: str) -> list[str]:
    """The Procfile line as the process manager runs it (a shell expands ``${VAR:-default}``)."""
    return ["bash", "-c", f"exec {command}"]


def _assert_live_push_answers(port: int) -> None:
    """An agent's app opens ``/ws/v1/events/`` on the web port, authenticates with its token, gets ``ready``, and its
    presence is recorded."""
    agent = AgentFactory(role=AgentRole.AGENT)
    key = Token.objects.create(user=agent.user).key
    with ws_connect(f"ws://127.0.0.1:{port}/ws/v1/events/", open_timeout=10, close_timeout=5) as socket:
        socket.send(json.dumps({"type": "auth", "token": key, "after": None}))
        ready = json.loads(socket.recv(timeout=10))
        assert ready["type"] == "ready" and isinstance(ready["last_id"], int), ready
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "pong"}
    agent.refresh_from_db()
    assert agent.last_seen_at is not None
    # A bad token is refused with the API's close code.
    with ws_connect(f"ws://127.0.0.1:{port}/ws/v1/events/", open_timeout=10) as socket:
        socket.send(json.dumps({"type": "auth", "token": "not-a-token"}))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4401
    # Another site's page cannot open one (its Origin is not in ALLOWED_HOSTS); apps that send no Origin can.
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{port}/ws/v1/events/", origin="https://evil.example", open_timeout=10)
    assert refused.value.response.status_code == 403


def test_procfile_declares_web_worker_beat_and_release():
    entries = procfile()
    assert set(entries) == {"release", "web", "worker", "beat"}
    web = shlex.split(entries["web"])
    assert web[:4] == ["gunicorn", "backoffice.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in entries["beat"]


def test_gunicorn_and_worker_from_the_procfile_answer_their_health_checks(tmp_path):
    broker = processes.broker_url()
    processes.skip_unless_broker_reachable(broker)
    port = processes.free_port()
    env = _production_env(broker, port)
    entries = procfile()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    web = processes.start(_shell(entries["web"]), env, web_log)
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"

        def web_up() -> bool:
            try:
                return _get(f"{base}/health/")[0] == 200
            except OSError:
                return False

        processes.wait_for(web_up, processes.READY_SECONDS, web, web_log, "gunicorn to answer /health/")
        status, checks = _get(f"{base}/health/")
        assert status == 200
        assert {name.split("(")[0] for name in checks} == {"Database", "Cache", "Storage"}
        assert set(checks.values()) == {"OK"}, checks

        # Each ASGI request runs in a thread of its own: its database connection is closed, not left behind idle.
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(lambda _: _api_with_a_bad_token(base), range(30)))
        assert answers == [401] * 30
        processes.wait_for(
            lambda: _other_connections() == 0, 5, web, web_log, "the web process to close its connections"
        )

        # No worker yet: the worker check fails loudly rather than pretending.
        status, checks = _get(f"{base}/health/worker/")
        assert status == 500, checks

        worker = processes.start(_shell(entries["worker"]), env, worker_log)
        processes.wait_for(
            lambda: " ready." in worker_log.read_text(), processes.READY_SECONDS, worker, worker_log, "the worker"
        )
        processes.wait_for(
            lambda: _get(f"{base}/health/worker/")[0] == 200, 30, worker, worker_log, "the worker health check"
        )
        _assert_live_push_answers(port)
        # Production settings: the API is served over HTTPS only, the health endpoints are not redirected.
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(_NoRedirect).open(f"{base}/api/v1/shops/", timeout=10)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"].startswith("https://")
    finally:
        if worker is not None:
            processes.stop(worker)
        processes.stop(web)
    assert "Booting worker" in web_log.read_text()

"""Gunicorn settings for the web process: ASGI (HTTP and the ``/ws/v1/events/`` WebSocket on one port) in uvicorn
workers, ``gunicorn backoffice.asgi:application -k uvicorn_worker.UvicornWorker --config python:backoffice.gunicorn``.

Everything comes from the environment, with defaults for one 2-core machine behind a reverse proxy.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Only for a threaded WSGI worker class (``-k gthread``); uvicorn workers run one event loop and Django's sync views in
# a thread per request.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A uvicorn worker whose event loop is blocked for this long is killed and logged. It is a heartbeat, not a request
# limit: WebSockets stay open for hours, and no request should block the loop (exports and rollups run in Celery).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On a restart or recycle a worker closes its WebSockets at once (1012, "service restart": clients reconnect and
# resume from their last event id) and gives HTTP requests in flight this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # HTTP keep-alive only; WebSockets are kept alive by their pings (LIVE_PING_SECONDS)
# Recycle workers after this many HTTP requests so that a slow leak never grows without bound. A recycled worker drops
# its WebSockets too (1012, as above): clients reconnect and resume from their last id (API.md), so recycling stays;
# the jitter keeps the workers from recycling, and their clients from reconnecting, all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Under ASGI each request's sync code runs in a thread of its own, so a kept connection (DATABASE_CONN_MAX_AGE) is never
# reused and lingers, idle, until garbage-collected: dozens per worker under load. The web process closes each at the
# end of its request (Django's advice for ASGI); the Celery processes keep theirs. Put PgBouncer in front for pooling.
raw_env = ["DATABASE_CONN_MAX_AGE=0"]
# The proxy in front sets X-Forwarded-*; only trust it from these addresses (uvicorn reads them from these only).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Load the service assistant's segmenter (jieba's dictionary, OpenCC, pypinyin: about a second) as the worker
    starts, not inside the first buyer message it serves."""
    from chats.assistant.language import segmenter_warm

    segmenter_warm()

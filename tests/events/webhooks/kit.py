"""Webhook test kit: a real HTTP receiver on 127.0.0.1 in a thread, and event and subscription helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import transaction

from events.choices import EventType
from events.feed import events_sequence
from events.models import Event, WebhookSubscription
from events.webhooks.signing import secret_new
from events.webhooks.subscriptions import webhooks_enabled_forget


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a stalled receiver)
    stream_bytes: int = 0  # then stream this many more bytes of body (declared in Content-Length)


class Receiver:
    """Records every POST; answers ``answer(request)`` (default 200 "ok"). HTTP/1.1 with keep-alive."""

    def __init__(self):
        self.requests: list[Received] = []
        self.answer: Callable[[Received], Answer] = lambda request: Answer()
        self.sent_bytes = 0
        self.connections = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                receiver.connections += 1

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                receiver.requests.append(request)
                answer = receiver.answer(request)
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body) + answer.stream_bytes))
                self.end_headers()
                try:
                    self.wfile.write(answer.body)
                    receiver.sent_bytes += len(answer.body)
                    chunk = b"x" * 16384
                    left = answer.stream_bytes
                    while left > 0:
                        self.wfile.write(chunk[:left])
                        receiver.sent_bytes += min(left, len(chunk))
                        left -= len(chunk)
                except OSError:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


def subscription_make(shop, user, url, *, events=(), enabled=True, **fields) -> WebhookSubscription:
    """A subscription stored directly (no URL check): for tests of what happens at delivery time."""
    webhooks_enabled_forget()
    return WebhookSubscription.objects.create(
        shop=shop, created_by=user, url=url, events=list(events), enabled=enabled, secret=secret_new(), **fields
    )


def event_make(shop, type=EventType.MESSAGE_CREATED, data=None, **fields) -> Event:  # noqa: A002
    """One committed-and-numbered event of ``shop``."""
    with transaction.atomic():
        event = Event.objects.create(shop=shop, type=type, data=data if data is not None else {"n": 1}, **fields)
    events_sequence()
    event.refresh_from_db()
    return event

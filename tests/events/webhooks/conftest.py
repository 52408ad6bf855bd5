"""Webhook fixtures: a real receiver, private networks allowed for it, a resolver with fixed answers."""

import pytest

from events.webhooks import client, guard
from events.webhooks.subscriptions import webhooks_enabled_forget

from .kit import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    client.pools_clear()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def private_ok(settings):
    """The receiver listens on 127.0.0.1: let webhooks reach private networks in this test."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def dns(monkeypatch):
    """The resolver answers from this dict (name -> addresses); other names do not resolve. No network."""
    answers: dict[str, list[str]] = {
        "hooks.example.com": ["93.184.216.34"],
        "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
    }

    def resolve(host, port):
        if host not in answers:
            raise OSError(f"{host} does not resolve")
        return list(answers[host])

    monkeypatch.setattr(guard, "host_resolve", resolve)
    return answers


@pytest.fixture(autouse=True)
def _fresh_memo_and_pools():
    webhooks_enabled_forget()
    yield
    webhooks_enabled_forget()
    client.pools_clear()

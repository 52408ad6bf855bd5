"""Brute-force protection (django-axes) on the admin login and the token endpoint, and the health endpoints."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.agents.factories import PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ADMIN_LOGIN = "/admin/login/"
LIMIT = 3


def _token(client, username, password, **extra):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.fixture(autouse=True)
def _limit():
    with override_settings(AXES_FAILURE_LIMIT=LIMIT):
        yield


def test_token_endpoint_locks_after_the_limit_even_for_the_right_password(agent):
    client = APIClient()
    username = agent.user.username
    for _ in range(LIMIT):
        assert _token(client, username, "wrong-password").status_code == 400
    locked = _token(client, username, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert "Too many failed logins" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 30 * 60


def test_failures_below_the_limit_are_forgotten_after_a_success(agent):
    client = APIClient()
    username = agent.user.username
    for _ in range(LIMIT - 1):
        _token(client, username, "wrong-password")
    assert _token(client, username, PASSWORD).status_code == 200
    for _ in range(LIMIT - 1):
        _token(client, username, "wrong-password")
    assert _token(client, username, PASSWORD).status_code == 200


def test_lockout_is_per_username_and_client_ip(agent, supervisor):
    client = APIClient()
    for _ in range(LIMIT):
        _token(client, agent.user.username, "wrong-password", REMOTE_ADDR="203.0.113.7")
    assert _token(client, agent.user.username, PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429
    # The same user from another address, and another user from the same address, still get in.
    assert _token(client, agent.user.username, PASSWORD, REMOTE_ADDR="198.51.100.4").status_code == 200
    assert _token(client, supervisor.user.username, PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 200


def test_forwarded_for_is_ignored_unless_a_trusted_proxy_header_is_configured(agent):
    client = APIClient()
    username = agent.user.username
    # Untrusted: a client that rotates X-Forwarded-For is still one address (REMOTE_ADDR) and gets locked.
    for n in range(LIMIT):
        _token(client, username, "wrong-password", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert _token(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


@override_settings(AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"), AXES_IPWARE_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_forwarded_client_ip_counts(agent):
    client = APIClient()
    username = agent.user.username
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(LIMIT):
        _token(client, username, "wrong-password", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.2", **proxy)
    assert _token(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.2", **proxy).status_code == 429
    # Another buyer-facing office behind the same proxy is not locked out with the attacker.
    assert _token(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4, 10.0.0.2", **proxy).status_code == 200
    attempt = AccessAttempt.objects.get()
    assert attempt.ip_address == "203.0.113.7"


def test_admin_login_locks_with_a_clear_page(db):
    staff = StaffUserFactory()
    client = Client()
    for _ in range(LIMIT - 1):
        response = client.post(ADMIN_LOGIN, {"username": staff.username, "password": "wrong-password"})
        assert response.status_code == 200  # the login form again, with its error
    response = client.post(ADMIN_LOGIN, {"username": staff.username, "password": "wrong-password"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    response = client.post(ADMIN_LOGIN, {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_message_is_translated(agent):
    client = APIClient()
    for _ in range(LIMIT):
        _token(client, agent.user.username, "wrong-password")
    locked = _token(client, agent.user.username, PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.json()["detail"]


def test_operations_staff_unlock_with_the_command_and_the_admin(agent, admin_client):
    client = APIClient()
    username = agent.user.username
    for _ in range(LIMIT):
        _token(client, username, "wrong-password")
    assert _token(client, username, PASSWORD).status_code == 429
    call_command("axes_reset_username", username)
    assert _token(client, username, PASSWORD).status_code == 200

    for _ in range(LIMIT):
        _token(client, username, "wrong-password")
    attempt = AccessAttempt.objects.get(username=username)
    assert admin_client.get("/admin/axes/accessattempt/").status_code == 200
    response = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _token(client, username, PASSWORD).status_code == 200


def test_health_endpoint_reports_the_web_process(client):
    response = client.get("/health/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert {name.split("(")[0] for name in body} == {"Database", "Cache", "Storage"}
    assert set(body.values()) == {"OK"}, body


@override_settings(SECURE_SSL_REDIRECT=True)
def test_health_endpoint_is_not_redirected_to_https(client):
    assert client.get("/health/", HTTP_ACCEPT="application/json").status_code == 200
    assert client.get("/api/v1/shops/").status_code == 301

"""Bad input answers 400 with field errors, never 500, and leaves nothing half-written."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from tests.conftest import client_for

from .world import build_shop_world

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000


@pytest.fixture
def world():
    build_shop_world("Shop B")
    return build_shop_world("Shop A")


def _row_counts():
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("shops", "agents", "chats", "auth")
    }


def _cases(w):
    """(caller, method, url, body, fields expected in the 400 answer)."""
    staff, owner, integ = "staff", "owner", "integration"
    conv = f"/api/v1/conversations/{w.conversation.pk}/messages/"
    shop_url = f"/api/v1/shops/{w.shop.pk}/"
    return [
        # Missing fields
        (staff, "post", "/api/v1/shops/", {}, ["name", "platform", "industry"]),
        (owner, "post", "/api/v1/agents/", {}, ["shop", "username", "password", "display_name"]),
        (owner, "post", "/api/v1/routing-groups/", {}, ["shop", "name"]),
        (integ, "post", "/api/v1/buyers/", {}, ["nick"]),
        (integ, "post", "/api/v1/orders/", {}, ["shop", "buyer", "external_id", "amount", "status"]),
        (integ, "post", "/api/v1/footprints/", {}, ["shop", "buyer", "item_id", "item_title"]),
        (integ, "post", "/api/v1/after-sales-events/", {}, ["shop", "buyer", "kind"]),
        (integ, "post", "/api/v1/conversations/", {}, ["shop", "buyer"]),
        (integ, "post", conv, {}, ["body"]),
        # Wrong types
        (
            owner,
            "patch",
            shop_url,
            {"invite_probability": "high", "bot_enabled": "maybe"},
            ["invite_probability", "bot_enabled"],
        ),
        (
            owner,
            "patch",
            f"/api/v1/agents/{w.agent.pk}/",
            {"capacity": "lots", "groups": "all"},
            ["capacity", "groups"],
        ),
        (
            integ,
            "post",
            "/api/v1/buyers/",
            {"nick": "n1", "registered_at": "yesterday", "verified": [1]},
            ["registered_at", "verified"],
        ),
        (
            integ,
            "post",
            "/api/v1/orders/",
            {"shop": "A", "buyer": {"id": 1}, "external_id": "E", "amount": "ten", "status": "success", "paid_at": 12},
            ["shop", "buyer", "amount", "paid_at"],
        ),
        (
            integ,
            "post",
            "/api/v1/conversations/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "started_at": "soon"},
            ["started_at"],
        ),
        (integ, "post", conv, {"body": ["a"], "sent_at": "later"}, ["body", "sent_at"]),
        # Out of range and unknown choices
        (
            owner,
            "patch",
            shop_url,
            {
                "invite_probability": 1.5,
                "idle_close_minutes": 0,
                "missed_followup_minutes": 99999,
                "platform": "ebay",
                "timezone": "Mars/Olympus",
            },
            ["invite_probability", "idle_close_minutes", "missed_followup_minutes", "platform", "timezone"],
        ),
        (owner, "patch", f"/api/v1/agents/{w.agent.pk}/", {"capacity": 100_000, "role": "king"}, ["capacity", "role"]),
        (owner, "patch", f"/api/v1/agents/{w.agent.pk}/", {"capacity": -1}, ["capacity"]),
        (
            integ,
            "post",
            "/api/v1/buyers/",
            {"nick": "n2", "credit_level": 21, "positive_rate": 2},
            ["credit_level", "positive_rate"],
        ),
        (
            integ,
            "post",
            "/api/v1/orders/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "external_id": "E2", "amount": -1, "status": "lost"},
            ["amount", "status"],
        ),
        (
            integ,
            "post",
            "/api/v1/orders/",
            {"shop": 10**30, "buyer": 2**63, "external_id": "E3", "amount": "1e400", "status": "success"},
            ["shop", "buyer", "amount"],
        ),
        (
            integ,
            "post",
            "/api/v1/after-sales-events/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "kind": "refund"},
            ["kind"],
        ),
        (
            integ,
            "post",
            "/api/v1/conversations/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "entry_point": "door"},
            ["entry_point"],
        ),
        (
            integ,
            "post",
            "/api/v1/conversations/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "entry_point": "item"},
            ["entry_ref"],
        ),
        (integ, "post", conv, {"body": "hi", "sender": "robot"}, ["sender"]),
        (integ, "post", conv, {"body": "hi", "sender": "agent"}, ["agent"]),
        (integ, "post", conv, {"body": "hi", "sender": "buyer", "agent": w.agent.pk}, ["agent"]),
        # Duplicates
        (
            integ,
            "post",
            "/api/v1/orders/",
            {
                "shop": w.shop.pk,
                "buyer": w.buyer.pk,
                "external_id": w.order.external_id,
                "amount": 1,
                "status": "success",
            },
            ["non_field_errors"],
        ),
        (integ, "post", "/api/v1/buyers/", {"nick": w.buyer.nick}, ["nick"]),
        (owner, "post", "/api/v1/routing-groups/", {"shop": w.shop.pk, "name": w.group.name}, ["name"]),
        (
            owner,
            "post",
            "/api/v1/agents/",
            {
                "shop": w.shop.pk,
                "username": w.agent.user.username,
                "password": "Very-long-pass-77",
                "display_name": "X",
            },
            ["username"],
        ),
        # Huge strings
        (staff, "post", "/api/v1/shops/", {"name": HUGE, "platform": "tmall", "industry": HUGE}, ["name", "industry"]),
        (
            owner,
            "post",
            "/api/v1/agents/",
            {"shop": w.shop.pk, "username": HUGE, "password": HUGE, "display_name": HUGE},
            ["username", "password", "display_name"],
        ),
        (
            integ,
            "post",
            "/api/v1/footprints/",
            {"shop": w.shop.pk, "buyer": w.buyer.pk, "item_id": HUGE, "item_title": HUGE},
            ["item_id", "item_title"],
        ),
        (integ, "post", conv, {"body": HUGE}, ["body"]),
        # Rules checked by services
        (
            owner,
            "post",
            "/api/v1/agents/",
            {"shop": w.shop.pk, "username": "weakling", "password": "123", "display_name": "Weak"},
            ["password"],
        ),
        # Workbench
        (owner, "post", "/api/v1/quick-phrases/", {}, ["shop", "shortcut", "content"]),
        (
            owner,
            "post",
            "/api/v1/quick-phrases/",
            {"shop": w.shop.pk, "scope": "global", "shortcut": HUGE, "content": HUGE},
            ["scope", "shortcut", "content"],
        ),
        (owner, "patch", f"/api/v1/quick-phrases/{w.objects['quick-phrase'].pk}/", {"shortcut": ""}, ["shortcut"]),
        (owner, "post", "/api/v1/auto-replies/", {}, ["shop", "trigger", "content"]),
        (
            owner,
            "post",
            "/api/v1/auto-replies/",
            {"shop": w.shop.pk, "trigger": "over_capacity", "threshold": -3, "content": HUGE},
            ["threshold", "content"],
        ),
        (owner, "post", "/api/v1/tasks/", {}, ["shop", "content", "handler", "remind_at"]),
        (
            owner,
            "post",
            "/api/v1/tasks/",
            {"shop": w.shop.pk, "kind": "party", "content": HUGE, "handler": "me", "remind_at": "tomorrow"},
            ["kind", "content", "handler", "remind_at"],
        ),
        # Supervision
        (owner, "post", "/api/v1/exports/", {}, ["kind", "format"]),
        (
            owner,
            "post",
            "/api/v1/exports/",
            {"kind": "orders", "format": "pdf", "filters": {"date_from": HUGE, "min_response_seconds": "slow"}},
            ["kind", "format", "filters"],
        ),
        (
            staff,
            "post",
            "/api/v1/exports/",
            {"kind": "messages", "format": "csv", "filters": {"shop": 10**30}},
            ["filters"],
        ),
    ]


def test_bad_input_is_400_with_field_errors_and_writes_nothing(world, staff_user):
    clients = {
        "owner": client_for(world.owner.user),
        "integration": client_for(world.integration.user),
        "staff": client_for(staff_user),
    }
    before = _row_counts()
    for kind, method, url, body, fields in _cases(world):
        response = getattr(clients[kind], method)(url, body, format="json")
        assert response.status_code == 400, (url, body if len(str(body)) < 300 else "huge", response.content[:300])
        errors = response.json()
        for field in fields:
            assert field in errors, (url, field, errors)
            assert all(isinstance(m, str) and m for m in errors[field])
    assert _row_counts() == before
    assert not get_user_model().objects.filter(username="weakling").exists()


@pytest.mark.parametrize(
    "payload",
    [
        '{"name": ',
        "[1, 2, 3]",
        "null",
        '"a string"',
        "\x00\x01",
        '{"name": "a"' + ", " * 10,
        "[" * 100_000 + "]" * 100_000,  # deeper than the decoder's recursion limit
        '{"name": "' + "x" * 3_000_000 + '"}',  # over DATA_UPLOAD_MAX_MEMORY_SIZE
    ],
    ids=["truncated", "array", "null", "string", "binary", "trailing-commas", "deep", "too-large"],
)
def test_malformed_json_is_400(world, staff_client, payload):
    before = _row_counts()
    response = staff_client.generic("POST", "/api/v1/shops/", payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()
    assert _row_counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/shops/99999999999999999999999999/",
        "/api/v1/agents/-1/",
        "/api/v1/orders/abc/",
        "/api/v1/conversations/9223372036854775808/messages/",
    ],
)
def test_odd_ids_are_404(world, staff_client, url):
    assert staff_client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/conversations/", {"started_after": "last tuesday"}),
        ("/api/v1/conversations/", {"shop": "abc"}),
        ("/api/v1/conversations/", {"status": "sleeping"}),
        ("/api/v1/orders/", {"view": "weird"}),
        ("/api/v1/orders/", {"buyer": 10**30}),
        ("/api/v1/agents/", {"group": "x"}),
        ("/api/v1/metrics/daily/", {"shop": 10**30}),
        ("/api/v1/metrics/daily/", {"agent": -1}),
        ("/api/v1/metrics/daily/", {"date_from": "2024-02-30"}),
        ("/api/v1/metrics/peers/", {"shop": 10**30, "date": "2024-05-06"}),
        ("/api/v1/metrics/peers/", {"date": "10000-01-01"}),
        ("/api/v1/monitoring/conversations/", {"shop": 10**30}),
        ("/api/v1/monitoring/conversations/", {"min_response_seconds": "nan"}),
        ("/api/v1/monitoring/conversations/", {"date_from": "2024-02-30", "shop": 1}),
        ("/api/v1/staffing/heatmap/", {"shop": 10**30}),
        ("/api/v1/staffing/plan/", {"shop": -1, "date": "10000-01-01"}),
        ("/api/v1/quick-phrases/", {"scope": "global"}),
        ("/api/v1/auto-replies/", {"trigger": "sleepy"}),
        ("/api/v1/tasks/", {"status": "sleeping"}),
        ("/api/v1/tasks/", {"remind_after": "soon"}),
        ("/api/v1/notifications/", {"kind": "gossip"}),
    ],
)
def test_bad_filters_are_400(world, staff_client, url, query):
    response = staff_client.get(url, query)
    assert response.status_code == 400
    assert set(query) & set(response.json())


def test_bad_cursor_and_page_are_not_500(world, staff_client):
    assert staff_client.get("/api/v1/conversations/", {"cursor": "garbage"}).status_code == 404
    assert staff_client.get("/api/v1/shops/", {"page": "999"}).status_code == 404
    assert staff_client.get("/api/v1/shops/", {"page_size": "lots", "ordering": "nonexistent"}).status_code == 200

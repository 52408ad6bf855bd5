"""Every API route, two shops: another shop's ids answer 404, in writable relations 400, in filters 400."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import client_for

from .world import build_shop_world

pytestmark = pytest.mark.django_db


def _api_patterns():
    """(name, pattern, kwargs names) of every route under /api/v1/."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append((entry.name, prefix + str(entry.pattern), entry.callback))

    walk(get_resolver().url_patterns, "")
    return [
        (name, route, callback)
        for name, route, callback in found
        if route.startswith("api/v1/") and "(?P<format>" not in route and "\\.(?P" not in route
    ]


def _object_routes():
    """Routes that address one object (a ``pk`` or ``conversation_pk`` in the path)."""
    return [(name, route, cb) for name, route, cb in _api_patterns() if "pk>" in route or "<pk>" in route]


WORLD_KEYS = (
    "shop",
    "agent",
    "routing-group",
    "buyer",
    "order",
    "footprint",
    "after-sales-event",
    "conversation",
    "conversation-messages",
    "faq-entry",
    "synonym-group",
    "evaluation-invite",
    "evaluation",
    "quick-phrase",
    "auto-reply",
    "task",
    "notification",
    "export",
    "monitoring-conversation",
    "webhook",
)


def _basename(name: str) -> str:
    """The world key of a route name: ``agent-detail`` and ``agent-status`` address an ``agent``."""
    name = name.removesuffix("-detail")
    if name in WORLD_KEYS:
        return name
    for key in sorted(WORLD_KEYS, key=len, reverse=True):
        if name.startswith(key + "-"):
            return key
    return name


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None) or {}
    allowed = set(callback.cls.http_method_names) - {"head", "options"}
    return sorted(m.upper() for m in actions if m in allowed)


def _url(route: str, pk: int) -> str:
    """Fill a route's id placeholders (regex groups of routers, or path converters) with ``pk``."""
    url = re.sub(r"\(\?P<\w+>[^)]*\)", str(pk), route)
    url = re.sub(r"<(?:int:)?\w+>", str(pk), url)
    return "/" + url.replace("^", "").replace("$", "")


@pytest.fixture
def worlds():
    return build_shop_world("Shop A"), build_shop_world("Shop B")


def test_matrix_covers_every_object_route():
    routes = {_basename(name) for name, _route, _cb in _object_routes()}
    assert routes <= set(WORLD_KEYS), f"routes without a tenancy fixture: {routes - set(WORLD_KEYS)}"
    assert len(routes) >= 9


@pytest.mark.parametrize("caller_kind", ["owner", "agent", "integration"])
def test_foreign_object_on_every_route_is_404(worlds, caller_kind):
    mine, theirs = worlds
    user = {"owner": mine.owner.user, "agent": mine.agent.user, "integration": mine.integration.user}[caller_kind]
    client = client_for(user)
    checked = 0
    for name, route, callback in _object_routes():
        basename = _basename(name)
        if basename == "buyer" and caller_kind == "integration":
            continue  # buyers are platform-wide: integration clients see every buyer
        foreign = theirs.objects[basename]
        url = _url(route, foreign.pk)
        for method in _methods(callback):
            response = client.generic(method, url, data="{}", content_type="application/json")
            assert response.status_code == 404, (caller_kind, method, url, response.status_code, response.content)
            checked += 1
    assert checked >= 15


def test_platform_staff_reach_every_shop(worlds, staff_client):
    _mine, theirs = worlds
    checked = 0
    for name, route, callback in _object_routes():
        if "GET" not in _methods(callback):
            continue
        url = _url(route, theirs.objects[_basename(name)].pk)
        response = staff_client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        checked += 1
    assert checked >= 8


LIST_ROUTES = {
    "/api/v1/shops/": "shop",
    "/api/v1/agents/": "agent",
    "/api/v1/routing-groups/": "routing-group",
    "/api/v1/buyers/": "buyer",
    "/api/v1/orders/": "order",
    "/api/v1/footprints/": "footprint",
    "/api/v1/after-sales-events/": "after-sales-event",
    "/api/v1/conversations/": "conversation",
    "/api/v1/faq-entries/": "faq-entry",
    "/api/v1/synonym-groups/": "synonym-group",
    "/api/v1/evaluation-invites/": "evaluation-invite",
    "/api/v1/evaluations/": "evaluation",
    "/api/v1/quick-phrases/": "quick-phrase",
    "/api/v1/auto-replies/": "auto-reply",
    "/api/v1/tasks/": "task",
    "/api/v1/notifications/": "notification",
    "/api/v1/exports/": "export",
    "/api/v1/monitoring/conversations/": "monitoring-conversation",
    "/api/v1/metrics/daily/": "metrics-daily",
    "/api/v1/webhooks/": "webhook",
}


@pytest.mark.parametrize("url", LIST_ROUTES)
def test_lists_show_only_own_shop(worlds, url):
    mine, theirs = worlds
    kind = LIST_ROUTES[url]
    ids = [row["id"] for row in client_for(mine.owner.user).get(url).json()["results"]]
    assert mine.objects[kind].pk in ids
    assert theirs.objects[kind].pk not in ids


def test_messages_of_own_conversation_only(worlds):
    mine, theirs = worlds
    client = client_for(mine.owner.user)
    response = client.get(f"/api/v1/conversations/{mine.conversation.pk}/messages/")
    assert [row["id"] for row in response.json()["results"]] == [mine.message.pk]


@pytest.mark.parametrize(
    ("url", "param", "attr"),
    [
        ("/api/v1/agents/", "shop", "shop"),
        ("/api/v1/agents/", "group", "group"),
        ("/api/v1/routing-groups/", "shop", "shop"),
        ("/api/v1/orders/", "shop", "shop"),
        ("/api/v1/orders/", "buyer", "buyer"),
        ("/api/v1/footprints/", "shop", "shop"),
        ("/api/v1/after-sales-events/", "shop", "shop"),
        ("/api/v1/conversations/", "shop", "shop"),
        ("/api/v1/conversations/", "agent", "agent"),
        ("/api/v1/conversations/", "group", "group"),
        ("/api/v1/quick-phrases/", "shop", "shop"),
        ("/api/v1/auto-replies/", "agent", "agent"),
        ("/api/v1/tasks/", "handler", "agent"),
        ("/api/v1/tasks/", "conversation", "conversation"),
        ("/api/v1/notifications/", "shop", "shop"),
        ("/api/v1/monitoring/conversations/", "shop", "shop"),
        ("/api/v1/monitoring/conversations/", "agent", "agent"),
        ("/api/v1/monitoring/conversations/", "group", "group"),
        ("/api/v1/staffing/heatmap/", "shop", "shop"),
        ("/api/v1/staffing/plan/", "shop", "shop"),
        ("/api/v1/metrics/daily/", "shop", "shop"),
        ("/api/v1/metrics/daily/", "agent", "agent"),
        ("/api/v1/metrics/daily/", "group", "group"),
        ("/api/v1/metrics/peers/", "shop", "shop"),
    ],
)
def test_filter_by_foreign_id_is_400(worlds, url, param, attr):
    mine, theirs = worlds
    response = client_for(mine.owner.user).get(url, {param: getattr(theirs, attr).pk})
    assert response.status_code == 400
    assert param in response.json()


def _writable_cases(mine, theirs):
    """(caller, url, body, field) where ``field`` names another shop's object."""
    integration, owner = mine.integration.user, mine.owner.user
    return [
        (
            integration,
            "/api/v1/orders/",
            {
                "shop": theirs.shop.pk,
                "buyer": mine.buyer.pk,
                "external_id": "X1",
                "amount": "10.00",
                "status": "success",
            },
            "shop",
        ),
        (
            integration,
            "/api/v1/footprints/",
            {"shop": theirs.shop.pk, "buyer": mine.buyer.pk, "item_id": "1", "item_title": "Hat"},
            "shop",
        ),
        (
            integration,
            "/api/v1/after-sales-events/",
            {"shop": theirs.shop.pk, "buyer": mine.buyer.pk, "kind": "complaint"},
            "shop",
        ),
        (integration, "/api/v1/conversations/", {"shop": theirs.shop.pk, "buyer": mine.buyer.pk}, "shop"),
        (
            integration,
            f"/api/v1/conversations/{mine.conversation.pk}/messages/",
            {"sender": "agent", "agent": theirs.agent.pk, "body": "hi"},
            "agent",
        ),
        (
            owner,
            "/api/v1/agents/",
            {"shop": theirs.shop.pk, "username": "newbie", "password": "Very-long-pass-77", "display_name": "N"},
            "shop",
        ),
        (
            owner,
            "/api/v1/agents/",
            {
                "shop": mine.shop.pk,
                "username": "newbie2",
                "password": "Very-long-pass-77",
                "display_name": "N",
                "groups": [theirs.group.pk],
            },
            "groups",
        ),
        (
            owner,
            "/api/v1/routing-groups/",
            {"shop": mine.shop.pk, "name": "G", "members": [theirs.agent.pk]},
            "members",
        ),
        (owner, "/api/v1/routing-groups/", {"shop": theirs.shop.pk, "name": "G"}, "shop"),
        (owner, f"/api/v1/agents/{mine.agent.pk}/", {"groups": [theirs.group.pk]}, "groups"),
        (owner, f"/api/v1/routing-groups/{mine.group.pk}/", {"members": [theirs.agent.pk]}, "members"),
        (owner, "/api/v1/faq-entries/", {"shop": theirs.shop.pk, "question": "Q", "answer": "A"}, "shop"),
        (owner, f"/api/v1/conversations/{mine.conversation.pk}/transfer/", {"agent": theirs.agent.pk}, "agent"),
        (owner, f"/api/v1/conversations/{mine.conversation.pk}/transfer/", {"group": theirs.group.pk}, "group"),
        (integration, "/api/v1/evaluations/", {"invite": theirs.objects["evaluation-invite"].pk, "score": 5}, "invite"),
        (integration, "/api/v1/evaluations/", {"conversation": theirs.ended.pk, "score": 5}, "conversation"),
        (
            owner,
            "/api/v1/quick-phrases/",
            {"shop": theirs.shop.pk, "scope": "team", "shortcut": "/x", "content": "x"},
            "shop",
        ),
        (
            owner,
            "/api/v1/auto-replies/",
            {"shop": mine.shop.pk, "agent": theirs.agent.pk, "trigger": "agent_busy", "content": "x"},
            "agent",
        ),
        (
            owner,
            "/api/v1/tasks/",
            {"shop": mine.shop.pk, "content": "x", "handler": theirs.agent.pk, "remind_at": "2026-03-02T10:00:00Z"},
            "handler",
        ),
        (
            owner,
            "/api/v1/tasks/",
            {
                "shop": mine.shop.pk,
                "content": "x",
                "handler": mine.agent.pk,
                "remind_at": "2026-03-02T10:00:00Z",
                "conversation": theirs.conversation.pk,
            },
            "conversation",
        ),
        (owner, f"/api/v1/tasks/{mine.objects['task'].pk}/", {"handler": theirs.agent.pk}, "handler"),
    ]


def test_foreign_id_in_writable_relation_is_400_and_writes_nothing(worlds):
    mine, theirs = worlds
    from django.apps import apps

    def totals():
        return {
            m._meta.label: m.objects.count()
            for m in apps.get_models()
            if m._meta.app_label in ("shops", "agents", "chats", "auth")
        }

    before = totals()
    for user, url, body, field in _writable_cases(mine, theirs):
        client = client_for(user)
        method = client.patch if url.rstrip("/").split("/")[-1].isdigit() else client.post  # PATCH a detail URL
        response = method(url, body, format="json")
        assert response.status_code == 400, (url, body, response.status_code, response.content)
        assert field in response.json(), (url, response.json())
    assert totals() == before
    assert list(mine.group.members.all()) == [mine.agent]


def test_platform_staff_cannot_mix_shops_in_one_object(worlds, staff_client):
    mine, theirs = worlds
    response = staff_client.post(
        "/api/v1/routing-groups/", {"shop": mine.shop.pk, "name": "Mixed", "members": [theirs.agent.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["members"] == ["Must belong to the same shop."]
    response = staff_client.post(
        f"/api/v1/conversations/{mine.conversation.pk}/messages/",
        {"sender": "agent", "agent": theirs.agent.pk, "body": "hi"},
        format="json",
    )
    assert response.status_code == 400
    assert "agent" in response.json()

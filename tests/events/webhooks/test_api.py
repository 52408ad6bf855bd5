"""The webhook API: the secret shown once, rotation, who may do what (platform, integration clients, owner,
supervisor, agent), another shop's subscription a 404, the delivery log and redelivery, flat query counts."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from agents.choices import AgentRole
from events.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from events.webhooks.signing import signature_verify
from tests.agents.factories import AgentFactory
from tests.conftest import client_for
from tests.shops.factories import IntegrationClientFactory

from .kit import Answer, event_make, subscription_make
from .test_delivery import deliver_all

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"
PUBLIC = "https://hooks.example.com/in"
FIELDS = {
    "id",
    "shop",
    "url",
    "events",
    "enabled",
    "consecutive_failures",
    "disabled_reason",
    "disabled_at",
    "created_at",
    "updated_at",
}


@pytest.fixture(autouse=True)
def _resolver(dns):
    return dns


@pytest.fixture
def hooks(shop, other_shop, owner):
    """One subscription in each shop, both made by their owners."""
    theirs = AgentFactory(shop=other_shop, role=AgentRole.OWNER)
    return subscription_make(shop, owner.user, PUBLIC), subscription_make(other_shop, theirs.user, PUBLIC)


@pytest.fixture
def callers(shop, other_shop, owner, supervisor, agent, integration, staff_user):
    return {
        "platform": staff_user,
        "integration": integration.user,
        "other_integration": IntegrationClientFactory(shops=[other_shop]).user,
        "owner": owner.user,
        "supervisor": supervisor.user,
        "agent": agent.user,
    }


def test_create_answers_the_secret_once(owner_client, shop):
    response = owner_client.post(URL, {"url": PUBLIC, "events": ["message.created"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS | {"secret"}
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"]), body["secret"]
    assert body["shop"] == shop.pk  # an owner's "all my shops" is the one shop
    assert body["events"] == ["message.created"] and body["enabled"] is True
    assert WebhookSubscription.objects.get().secret == body["secret"]

    detail = owner_client.get(f"{URL}{body['id']}/").json()
    assert "secret" not in detail and set(detail) == FIELDS
    assert all("secret" not in row for row in owner_client.get(URL).json()["results"])
    patched = owner_client.patch(f"{URL}{body['id']}/", {"enabled": False}, format="json").json()
    assert "secret" not in patched and patched["enabled"] is False


def test_rotate_secret_answers_a_new_one_and_signs_with_it(owner_client, shop, receiver, private_ok):
    created = owner_client.post(URL, {"url": receiver.url}, format="json").json()
    response = owner_client.post(f"{URL}{created['id']}/rotate-secret/")
    assert response.status_code == 200
    secret = response.json()["secret"]
    assert secret != created["secret"] and len(secret) == 64
    assert WebhookSubscription.objects.get().secret == secret

    event_make(shop)
    deliver_all()
    [request] = receiver.requests
    assert signature_verify(secret, request.body, request.headers["x-backoffice-signature"])
    assert not signature_verify(created["secret"], request.body, request.headers["x-backoffice-signature"])


def test_events_are_validated_and_deduplicated_empty_means_all(owner_client):
    response = owner_client.post(URL, {"url": PUBLIC, "events": ["message.created", "nope"]}, format="json")
    assert response.status_code == 400 and "events" in response.json()
    body = {"url": PUBLIC, "events": ["message.created", "message.created", "conversation.ended"]}
    assert owner_client.post(URL, body, format="json").json()["events"] == ["message.created", "conversation.ended"]
    assert owner_client.post(URL, {"url": PUBLIC}, format="json").json()["events"] == []


def _status(user, method, url, body=None):
    client = client_for(get_user_model().objects.get(pk=user.pk))
    return getattr(client, method)(url, body or {}, format="json").status_code


ROLES = ("platform", "integration", "other_integration", "owner", "supervisor", "agent")
# (action, method, path under the subscription or None for the collection, statuses in the order of ROLES).
MATRIX = [
    ("list", "get", None, (200, 200, 200, 200, 403, 403)),
    ("retrieve", "get", "", (200, 200, 404, 200, 403, 403)),
    ("update", "patch", "", (200, 200, 404, 200, 403, 403)),
    ("rotate", "post", "rotate-secret/", (200, 200, 404, 200, 403, 403)),
    ("deliveries", "get", "deliveries/", (200, 200, 404, 200, 403, 403)),
    ("destroy", "delete", "", (204, 204, 404, 204, 403, 403)),
]


@pytest.mark.parametrize(("action", "method", "path", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_roles_on_a_subscription_of_their_shop(callers, hooks, action, method, path, expected):
    mine, _theirs = hooks
    got = {}
    for name, user in callers.items():
        if action == "destroy":
            mine = subscription_make(mine.shop, mine.created_by, PUBLIC)
        url = URL if path is None else f"{URL}{mine.pk}/{path}"
        got[name] = _status(user, method, url, {"enabled": True} if method == "patch" else None)
    assert got == dict(zip(ROLES, expected, strict=True))


def test_another_shops_subscription_is_404_on_every_route(callers, hooks, shop):
    _mine, theirs = hooks
    event_make(theirs.shop)
    delivery = WebhookDelivery.objects.create(subscription=theirs, event_id=event_make(theirs.shop).seq)
    routes = [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "rotate-secret/"),
        ("get", "deliveries/"),
        ("post", f"deliveries/{delivery.pk}/redeliver/"),
    ]
    for name in ("integration", "owner", "supervisor", "agent"):
        for method, path in routes:
            assert _status(callers[name], method, f"{URL}{theirs.pk}/{path}") == 404, (name, method, path)
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()


def test_lists_show_what_each_caller_may_see(callers, hooks, shop, other_shop):
    mine, theirs = hooks
    integration_all = subscription_make(None, callers["integration"], PUBLIC)  # all of the client's shops

    def ids(name):
        client = client_for(get_user_model().objects.get(pk=callers[name].pk))
        return sorted(row["id"] for row in client.get(URL).json()["results"])

    assert ids("platform") == sorted([mine.pk, theirs.pk, integration_all.pk])
    assert ids("integration") == sorted([mine.pk, integration_all.pk])
    assert ids("other_integration") == [theirs.pk]
    assert ids("owner") == [mine.pk]  # another caller's "all my shops" subscription is theirs


def test_who_may_create_for_which_shop(callers, shop, other_shop):
    def create(name, body):
        client = client_for(get_user_model().objects.get(pk=callers[name].pk))
        return client.post(URL, {"url": PUBLIC, **body}, format="json")

    assert create("platform", {"shop": other_shop.pk}).status_code == 201
    assert create("platform", {}).json()["shop"] is None  # every shop
    assert create("integration", {"shop": shop.pk}).status_code == 201
    assert create("integration", {}).json()["shop"] is None  # every shop of the client
    response = create("integration", {"shop": other_shop.pk})
    assert response.status_code == 400 and "shop" in response.json()
    assert create("owner", {"shop": shop.pk}).status_code == 201
    assert create("owner", {"shop": other_shop.pk}).status_code == 400
    assert create("supervisor", {"shop": shop.pk}).status_code == 403
    assert create("agent", {}).status_code == 403


def test_an_integration_clients_subscription_for_all_its_shops_gets_them_all_and_no_other(
    shop, other_shop, integration, receiver, private_ok
):
    third = IntegrationClientFactory(shops=[other_shop])  # noqa: F841 - a client of the other shop exists too
    subscription_make(None, integration.user, receiver.url)
    mine = event_make(shop)
    event_make(other_shop)

    deliver_all()

    assert [request.headers["x-backoffice-event"] for request in receiver.requests] == ["message.created"]
    assert WebhookDelivery.objects.get().event_id == mine.seq
    integration.shops.add(other_shop)  # reach is read at delivery time
    event_make(other_shop)
    deliver_all()
    assert len(receiver.requests) == 2


def test_deliveries_list_filters_and_redeliver(owner_client, shop, owner, receiver, private_ok):
    hook = subscription_make(shop, owner.user, receiver.url)
    receiver.answer = lambda request: Answer(status=500)
    first = event_make(shop)
    deliver_all()
    receiver.answer = lambda request: Answer(status=200)
    second = event_make(shop)
    deliver_all()

    response = owner_client.get(f"{URL}{hook.pk}/deliveries/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["event"] for row in rows] == [second.position, first.position]  # newest first
    assert set(rows[0]) >= {"id", "event", "status", "attempts", "last_status_code", "next_attempt_at", "delivered_at"}
    assert rows[1]["status"] == "pending" and rows[1]["last_status_code"] == 500
    assert rows[0]["status"] == "delivered" and rows[0]["event_type"] == "message.created"
    pending = owner_client.get(f"{URL}{hook.pk}/deliveries/", {"status": "pending"}).json()["results"]
    assert [row["id"] for row in pending] == [rows[1]["id"]]
    assert owner_client.get(f"{URL}{hook.pk}/deliveries/", {"status": "nope"}).status_code == 400

    response = owner_client.post(f"{URL}{hook.pk}/deliveries/{rows[1]['id']}/redeliver/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["attempts"], body["last_status_code"]) == ("delivered", 2, 200)
    assert body["event"] == first.position
    assert len(receiver.requests) == 3
    # A delivery of another subscription under this one's path is not found.
    other = subscription_make(shop, owner.user, receiver.url)
    response = owner_client.post(f"{URL}{other.pk}/deliveries/{rows[1]['id']}/redeliver/")
    assert response.status_code == 404


def test_redeliver_of_a_delivery_under_way_is_409(owner_client, shop, owner):
    hook = subscription_make(shop, owner.user, PUBLIC)
    event_make(shop)
    from events.webhooks.dispatch import webhooks_dispatch

    webhooks_dispatch()  # claimed, its task not run
    delivery = WebhookDelivery.objects.get()
    response = owner_client.post(f"{URL}{hook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 409
    assert WebhookDelivery.objects.get().attempts == 0


def _grow(shop, owner, n):
    for _ in range(n):
        hook = subscription_make(shop, owner.user, PUBLIC, events=["message.created"])
        event = event_make(shop)
        WebhookDelivery.objects.create(subscription=hook, event_id=event.seq, status=DeliveryStatus.DELIVERED)


def _count(user, url):
    client = client_for(get_user_model().objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("who", ["owner", "integration", "platform"])
def test_list_query_counts_are_flat(shop, owner, integration, staff_user, who):
    user = {"owner": owner.user, "integration": integration.user, "platform": staff_user}[who]
    hook = subscription_make(shop, owner.user, PUBLIC)
    for _ in range(2):
        WebhookDelivery.objects.create(subscription=hook, event_id=event_make(shop).seq)
    _grow(shop, owner, 2)
    small = [_count(user, URL), _count(user, f"{URL}{hook.pk}/deliveries/")]
    _grow(shop, owner, 20)
    for _ in range(20):
        WebhookDelivery.objects.create(subscription=hook, event_id=event_make(shop).seq)
    big = [_count(user, URL), _count(user, f"{URL}{hook.pk}/deliveries/")]
    assert [queries for queries, _rows in small] == [queries for queries, _rows in big]
    assert [rows for _queries, rows in big] == [23, 22]


def test_url_refusals_follow_accept_language(owner_client):
    with translation.override("en"):  # the request's language stays with the request
        response = owner_client.post(
            URL, {"url": "ftp://hooks.example.com/"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert response.status_code == 400
    assert response.json()["url"] == ["只有 http 和 https 的 URL 可以接收 Webhook。"]

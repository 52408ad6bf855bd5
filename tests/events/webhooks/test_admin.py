"""The webhook admins: pages open, changelists stay flat, the URL guard and the secret in the add form, the
rotate-secret, switch and redeliver actions, and a shop's staff seeing only their shop."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

from .kit import Answer, event_make, subscription_make
from .test_delivery import deliver_all

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "admin:events_webhooksubscription"
DELIVERIES = "admin:events_webhookdelivery"


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def logged(shop, owner, receiver, private_ok):
    hook = subscription_make(shop, owner.user, receiver.url)
    receiver.answer = lambda request: Answer(status=500)
    event_make(shop)
    deliver_all()
    return hook, WebhookDelivery.objects.get()


def test_pages_open(admin_client, logged):
    hook, delivery = logged
    for name, obj in ((SUBSCRIPTIONS, hook), (DELIVERIES, delivery)):
        assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"{name}_changelist"), {"q": "anything"}).status_code == 200
        response = admin_client.get(reverse(f"{name}_changelist"), {"q": f"#{obj.pk}"})
        assert response.context["cl"].result_count == 1
        assert admin_client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200
    assert admin_client.get(reverse(f"{SUBSCRIPTIONS}_add")).status_code == 200
    assert admin_client.get(reverse(f"{DELIVERIES}_add")).status_code == 403
    page = admin_client.get(reverse(f"{SUBSCRIPTIONS}_change", args=[hook.pk])).content.decode()
    assert hook.secret not in page and f"…{hook.secret[-4:]}" in page
    response = admin_client.get(reverse(f"{DELIVERIES}_changelist"), {"subscription": hook.pk, "status": "pending"})
    assert response.context["cl"].result_count == 1


def test_changelists_are_flat(admin_client, shop, owner):
    def count(name):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
        return len(ctx.captured_queries)

    def grow(n):
        for _ in range(n):
            hook = subscription_make(shop, owner.user, "https://hooks.example.com/in")
            WebhookDelivery.objects.create(subscription=hook, event_id=event_make(shop).seq)

    grow(2)
    small = count(SUBSCRIPTIONS), count(DELIVERIES)
    grow(15)
    assert (count(SUBSCRIPTIONS), count(DELIVERIES)) == small


def test_add_checks_the_url_and_shows_the_secret_once(admin_client, shop, dns):
    add = reverse(f"{SUBSCRIPTIONS}_add")
    response = admin_client.post(add, {"shop": shop.pk, "url": "http://169.254.169.254/", "enabled": "on"})
    assert response.status_code == 200
    assert "public addresses only" in response.content.decode()
    assert not WebhookSubscription.objects.exists()

    body = {"shop": shop.pk, "url": "https://hooks.example.com/in", "events": ["message.created"], "enabled": "on"}
    response = admin_client.post(add, body, follow=True)
    hook = WebhookSubscription.objects.get()
    assert (hook.events, hook.enabled, len(hook.secret)) == (["message.created"], True, 64)
    assert any(hook.secret in message for message in _messages(response))


def test_actions_rotate_switch_and_redeliver(admin_client, logged, receiver):
    hook, delivery = logged
    old = hook.secret
    changelist = reverse(f"{SUBSCRIPTIONS}_changelist")
    response = admin_client.post(changelist, {"action": "rotate_secret", "_selected_action": [hook.pk]}, follow=True)
    hook.refresh_from_db()
    assert hook.secret != old and any(hook.secret in message for message in _messages(response))

    admin_client.post(changelist, {"action": "switch_off", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert hook.enabled is False
    admin_client.post(changelist, {"action": "switch_on", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert hook.enabled is True

    receiver.answer = lambda request: Answer(status=200)
    response = admin_client.post(
        reverse(f"{DELIVERIES}_changelist"), {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert any("1 delivered, 0 failed" in message for message in _messages(response))


def test_a_shops_staff_see_only_their_shop(shop, other_shop, owner, shop_staff_admin_client):
    mine = subscription_make(shop, owner.user, "https://hooks.example.com/a")
    theirs = subscription_make(other_shop, owner.user, "https://hooks.example.com/b")
    client = shop_staff_admin_client(shop, "view_webhooksubscription", "view_webhookdelivery")
    response = client.get(reverse(f"{SUBSCRIPTIONS}_changelist"))
    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
    assert client.get(reverse(f"{SUBSCRIPTIONS}_change", args=[theirs.pk])).status_code == 302  # "does not exist"

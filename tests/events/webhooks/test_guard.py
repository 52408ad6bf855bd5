"""The SSRF guard: refused on create and update (400 on ``url``) and again at every delivery; DNS is mocked."""

import pytest

from events.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from events.webhooks.guard import WebhookURLRefused, address_refusal, webhook_target

from .kit import event_make, subscription_make
from .test_delivery import deliver_all

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"

REFUSED_ADDRESSES = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",  # 127.0.0.1 in short form (refused as no valid URL before it is resolved)
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",
    "http://100.64.0.1/",
    "http://240.0.0.1/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::]/hook",
    "http://loopback.example.com/hook",  # resolves to 127.0.0.1
    "http://mixed.example.com/hook",  # one public and one private answer
    "http://v6loop.example.com/hook",  # resolves to ::1
]
REFUSED_OTHERWISE = [
    "ftp://hooks.example.com/hook",
    "file:///etc/passwd",
    "gopher://hooks.example.com/",
    "http://nowhere.example.com/hook",  # does not resolve
    "http://user:secret@hooks.example.com/hook",
    "http://hooks.example.com:99999/hook",
    "not a url",
    "",
]


@pytest.fixture
def names(dns):
    dns["loopback.example.com"] = ["127.0.0.1"]
    dns["mixed.example.com"] = ["93.184.216.34", "10.1.2.3"]
    dns["v6loop.example.com"] = ["::1"]
    dns["127.1"] = ["127.0.0.1"]
    return dns


@pytest.mark.parametrize("url", REFUSED_ADDRESSES + REFUSED_OTHERWISE)
def test_create_refuses_unsafe_urls_with_a_400_on_url(staff_client, shop, names, url):
    response = staff_client.post(URL, {"shop": shop.pk, "url": url}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) in (["url"], ["url", "code"])
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", [url for url in REFUSED_ADDRESSES if "127.1/" not in url])
def test_the_refusal_names_the_address(staff_client, shop, names, url):
    response = staff_client.post(URL, {"shop": shop.pk, "url": url}, format="json")
    assert "public addresses only" in response.json()["url"][0]


def test_public_names_and_addresses_are_accepted(staff_client, shop, names):
    for url in ("https://hooks.example.com/in", "http://93.184.216.34:8080/in", "https://v6.example.com/"):
        response = staff_client.post(URL, {"shop": shop.pk, "url": url}, format="json")
        assert response.status_code == 201, (url, response.content)


def test_update_refuses_unsafe_urls_too(staff_client, shop, names):
    created = staff_client.post(URL, {"shop": shop.pk, "url": "https://hooks.example.com/in"}, format="json").json()
    response = staff_client.patch(f"{URL}{created['id']}/", {"url": "http://loopback.example.com/"}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()
    assert WebhookSubscription.objects.get().url == "https://hooks.example.com/in"


def test_private_networks_are_allowed_by_the_setting(staff_client, shop, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = staff_client.post(URL, {"shop": shop.pk, "url": "http://127.0.0.1:8000/hook"}, format="json")
    assert response.status_code == 201
    # Schemes stay refused.
    response = staff_client.post(URL, {"shop": shop.pk, "url": "ftp://127.0.0.1/"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not one to bind
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_address_refusal(address, refused):
    assert address_refusal(address) == refused


def test_the_target_connects_to_the_address_that_was_checked(dns):
    dns["hooks.example.com"] = ["93.184.216.34"]
    target = webhook_target("https://hooks.example.com/in?a=1#frag")
    assert (target.scheme, target.host, target.port, target.address, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "93.184.216.34",
        "/in?a=1",
    )
    assert target.host_header == "hooks.example.com"
    assert webhook_target("http://[2606:2800:220:1:248:1893:25c8:1946]:8080/").host_header == (
        "[2606:2800:220:1:248:1893:25c8:1946]:8080"
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/hook", "http://loopback.example.com:{port}/hook"])
def test_delivery_refuses_again_and_counts_a_failed_attempt(shop, owner, receiver, names, url):
    subscription_make(shop, owner.user, url.format(port=receiver.port))  # stored without the create check
    event_make(shop)

    deliver_all()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, None)
    assert delivery.last_error.startswith("Refused: ")
    assert "127.0.0.1, a loopback address" in delivery.last_error
    assert receiver.requests == []


def test_dns_rebinding_after_the_check_is_refused_at_delivery(shop, owner, receiver, names):
    names["rebind.example.com"] = ["93.184.216.34"]
    hook = subscription_make(shop, owner.user, f"http://rebind.example.com:{receiver.port}/hook")
    webhook_target(hook.url)  # passes now
    names["rebind.example.com"] = ["127.0.0.1"]  # the name's owner points it inside
    event_make(shop)

    deliver_all()

    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error.startswith("Refused: rebind.example.com resolves to 127.0.0.1")


def test_a_name_that_stops_resolving_fails_the_attempt(shop, owner, names):
    names["gone.example.com"] = ["93.184.216.34"]
    subscription_make(shop, owner.user, "https://gone.example.com/hook")
    del names["gone.example.com"]
    event_make(shop)

    deliver_all()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error == "Refused: The host gone.example.com could not be resolved."
    with pytest.raises(WebhookURLRefused):
        webhook_target("https://gone.example.com/hook")

"""Admin for shops and marketplace data: query counts, and a shop's staff confined to their shop."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shops.models import Order
from tests.shops.factories import BuyerFactory, IntegrationClientFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

ORDER_CHANGELIST = reverse("admin:shops_order_changelist")
ORDER_ADD = reverse("admin:shops_order_add")


def _changelist(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), list(response.context["cl"].result_list)


@pytest.mark.parametrize("caller", ["platform", "shop_staff"])
def test_order_changelist_query_count_is_flat(admin_client, shop_staff_admin_client, shop, caller):
    client = admin_client if caller == "platform" else shop_staff_admin_client(shop, "view_order")

    def grow(n):
        for _ in range(n):
            OrderFactory(shop=shop)
            ShopFactory()

    grow(3)
    small_queries, small_rows = _changelist(client, ORDER_CHANGELIST)
    grow(6)
    big_queries, big_rows = _changelist(client, ORDER_CHANGELIST)
    assert (len(small_rows), len(big_rows)) == (3, 9)
    assert big_queries == small_queries


def test_order_changelist_shop_staff_sees_only_their_shop(shop_staff_admin_client, shop, other_shop):
    own = OrderFactory(shop=shop)
    OrderFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_order")
    _, rows = _changelist(client, ORDER_CHANGELIST)
    assert rows == [own]


def test_order_admin_other_shops_order_is_unreachable(shop_staff_admin_client, shop, other_shop):
    foreign = OrderFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_order", "change_order", "delete_order")
    for view in ("change", "history", "delete"):
        response = client.get(reverse(f"admin:shops_order_{view}", args=[foreign.pk]), follow=True)
        assert response.redirect_chain[0][1] == 302, view
        assert "doesn’t exist" in str(list(response.context["messages"])[0]), view


def test_order_add_form_offers_only_the_callers_shop(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_order", "add_order", "view_shop")
    response = client.get(ORDER_ADD)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.fields["shop"].queryset) == [shop]
    assert form.initial["shop"] == shop.pk

    autocomplete = client.get(
        reverse("admin:autocomplete"), {"app_label": "shops", "model_name": "order", "field_name": "shop"}
    )
    assert [item["id"] for item in autocomplete.json()["results"]] == [str(shop.pk)]


def test_order_add_by_shop_staff_refuses_another_shop(shop_staff_admin_client, shop, other_shop):
    buyer = OrderFactory(shop=shop).buyer  # a buyer of this shop: one the shop's staff may pick
    client = shop_staff_admin_client(shop, "view_order", "add_order")
    data = {"buyer": buyer.pk, "external_id": "T-NEW", "amount": "10.00", "status": "success"}
    data |= {"placed_at_0": "2024-05-01", "placed_at_1": "10:00:00"}

    refused = client.post(ORDER_ADD, data | {"shop": other_shop.pk})
    assert refused.status_code == 200
    assert "shop" in refused.context["adminform"].form.errors
    assert not Order.objects.filter(external_id="T-NEW").exists()

    accepted = client.post(ORDER_ADD, data | {"shop": shop.pk})
    assert accepted.status_code == 302
    assert Order.objects.get(external_id="T-NEW").shop == shop


def test_order_changelist_shop_filter_lists_only_the_callers_shop(
    admin_client, shop_staff_admin_client, shop, other_shop
):
    response = shop_staff_admin_client(shop, "view_order").get(ORDER_CHANGELIST)
    # One choice only: Django hides the filter, and another shop's name appears nowhere.
    assert [spec for spec in response.context["cl"].filter_specs if spec.title == "shop"] == []
    assert other_shop.name not in response.content.decode()

    response = admin_client.get(ORDER_CHANGELIST)
    (shop_filter,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "shop"]
    assert {pk for pk, _ in shop_filter.lookup_choices} == {shop.pk, other_shop.pk}


def test_order_admin_shop_is_fixed_after_creation(admin_client, shop):
    order = OrderFactory(shop=shop)
    form = admin_client.get(reverse("admin:shops_order_change", args=[order.pk])).context["adminform"].form
    assert "shop" not in form.fields
    assert "buyer" in form.fields


def test_order_admin_duplicate_external_id_on_change_is_a_form_error(admin_client, shop):
    OrderFactory(shop=shop, external_id="T-1")
    order = OrderFactory(shop=shop, external_id="T-2")
    data = {"buyer": order.buyer_id, "external_id": "T-1", "amount": "10.00", "status": "success"}
    data |= {"placed_at_0": "2024-05-01", "placed_at_1": "10:00:00"}
    response = admin_client.post(reverse("admin:shops_order_change", args=[order.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.external_id == "T-2"


def test_shop_admin_shop_staff_change_their_shop_but_not_add_or_delete(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_shop", "add_shop", "change_shop", "delete_shop")
    assert client.get(reverse("admin:shops_shop_add")).status_code == 403
    assert client.get(reverse("admin:shops_shop_delete", args=[shop.pk])).status_code == 403
    assert client.get(reverse("admin:shops_shop_change", args=[shop.pk])).status_code == 200
    assert client.get(reverse("admin:shops_shop_change", args=[other_shop.pk])).status_code == 302
    _, rows = _changelist(client, reverse("admin:shops_shop_changelist"))
    assert rows == [shop]


def test_integration_client_admin_is_for_platform_staff_only(shop_staff_admin_client, admin_client, shop):
    IntegrationClientFactory(shops=[shop])
    client = shop_staff_admin_client(shop, "view_integrationclient", "change_integrationclient")
    assert client.get(reverse("admin:shops_integrationclient_changelist")).status_code == 403
    assert admin_client.get(reverse("admin:shops_integrationclient_changelist")).status_code == 200


def test_buyer_admin_is_read_only_for_shop_staff(shop_staff_admin_client, shop):
    buyer = OrderFactory(shop=shop).buyer
    BuyerFactory()  # never dealt with this shop: invisible to its staff
    client = shop_staff_admin_client(shop, "view_buyer", "change_buyer")
    _, rows = _changelist(client, reverse("admin:shops_buyer_changelist"))
    assert rows == [buyer]
    url = reverse("admin:shops_buyer_change", args=[buyer.pk])
    assert client.get(url).context["has_change_permission"] is False
    assert client.post(url, {"nick": "renamed"}).status_code == 403

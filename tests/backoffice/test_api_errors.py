"""Answers the fuzzer made us pin down: JSON errors on unknown API paths, sane time ranges, NUL bytes, blank enums."""

import pytest
from rest_framework.test import APIClient

from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(staff_client):
    response = staff_client.get("/api/v1/agents/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_unknown_page_outside_the_api_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("moment", ["0113-07-26T22:19:15Z", "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_times_outside_2000_to_2100_are_400(staff_client, moment):
    body = {"nick": "far-away", "credit_level": 1, "registered_at": moment, "verified": False, "positive_rate": 0.5}
    response = staff_client.post("/api/v1/buyers/", body, format="json")
    assert response.status_code == 400
    assert response.json()["registered_at"] == ["Must be between 2000-01-01 and 2100-01-01."]


def test_times_inside_the_range_keep_their_offset(staff_client):
    body = {"nick": "near", "credit_level": 1, "registered_at": "2000-01-01T00:00:00Z", "verified": False}
    response = staff_client.post("/api/v1/buyers/", {**body, "positive_rate": 0.5}, format="json")
    assert response.status_code == 201
    assert response.json()["registered_at"] == "2000-01-01T08:00:00+08:00"


def test_token_login_with_a_nul_byte_in_the_username_is_400(db):
    response = APIClient().post("/api/v1/auth/token/", {"username": "ad\x00min", "password": "x"}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()


def test_blank_choice_of_an_open_conversation_is_documented_and_answered(staff_client, shop):
    from tests.chats.factories import ConversationFactory

    conversation = ConversationFactory(shop=shop, buyer=BuyerFactory())
    assert staff_client.get(f"/api/v1/conversations/{conversation.pk}/").json()["closed_by"] == ""
    schema = staff_client.get("/api/schema/?format=json").json()
    closed_by = schema["components"]["schemas"]["Conversation"]["properties"]["closed_by"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in closed_by["oneOf"]


@pytest.mark.parametrize("value", ["1135-08-30T17:56:43+23:55", "2020-01-01T00:00:00+15:30", "1999-01-01T00:00:00Z"])
def test_time_filters_with_impossible_times_are_400(staff_client, value):
    response = staff_client.get("/api/v1/evaluation-invites/", {"sent_after": value})
    assert response.status_code == 400
    assert "sent_after" in response.json()


@pytest.mark.parametrize("url", ["/api/v1/metrics/daily/", "/api/v1/monitoring/conversations/"])
def test_date_filters_outside_2000_to_2099_are_400(staff_client, shop, url):
    response = staff_client.get(url, {"shop": shop.pk, "date_from": "0001-01-01"})
    assert response.status_code == 400
    assert response.json()["date_from"] == ["Give a date from 2000-01-01 to 2099-12-31."]

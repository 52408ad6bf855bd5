import pytest
from rest_framework.test import APIClient

from tests.agents.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_token_login_then_token_auth(agent):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": agent.user.username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    shops = client.get("/api/v1/shops/").json()["results"]
    assert [s["id"] for s in shops] == [agent.shop_id]


def test_token_login_wrong_password_is_400(agent):
    response = APIClient().post("/api/v1/auth/token/", {"username": agent.user.username, "password": "nope"})
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_token_login_with_hostile_json_is_400(db):
    body = "[" * 100_000 + "]" * 100_000
    response = APIClient().generic("POST", "/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400


def test_unauthenticated_is_401():
    assert APIClient().get("/api/v1/shops/").status_code == 401
    assert APIClient().get("/api/v1/conversations/", HTTP_AUTHORIZATION="Token bogus").status_code == 401


def test_user_without_shop_is_403(db):
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get("/api/v1/shops/").status_code == 403


def test_schema_and_docs_are_served(db, client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/shops/", "/api/v1/agents/{id}/status/", "/api/v1/conversations/{conversation_pk}/messages/"):
        assert path in text
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content.decode()
    assert "cdn" not in docs.content.decode().lower()

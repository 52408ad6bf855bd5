"""The supervision wall's admin page and its JSON state: who may open which shop's, what they carry, query counts."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from agents.choices import AgentRole, AgentStatus
from chats.choices import ConversationStatus, Sender
from tests.agents.factories import AgentFactory, UserFactory
from tests.chats.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def page(shop):
    return reverse("admin:chats_wall_change", args=[shop.pk])


def state(shop):
    return reverse("admin:chats_wall_state", args=[shop.pk])


def waiting_chat(shop, agent=None, seconds=30):
    started = timezone.now() - timedelta(seconds=seconds)
    conversation = ConversationFactory(
        shop=shop,
        started_at=started,
        agent=agent,
        status=ConversationStatus.HUMAN if agent else ConversationStatus.QUEUED,
        queued_at=None if agent else started,
    )
    MessageFactory(conversation=conversation, sender=Sender.BUYER, sent_at=started)
    return conversation


@pytest.fixture
def platform_staff_client(db):
    """A platform operator (staff, no sub-account, not a superuser) with the wall's view permission."""

    def login(*codenames: str) -> Client:
        user = UserFactory(is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client = Client()
        client.force_login(user)
        return client

    return login


def test_wall_page_renders_the_state_and_the_live_settings(admin_client, shop):
    agent = AgentFactory(shop=shop, display_name="Li", status=AgentStatus.ONLINE)
    conversation = waiting_chat(shop, agent, seconds=150)
    response = admin_client.get(page(shop))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'src="/static/chats/wall.js"' in content and "/static/chats/wall.css" in content
    assert "cdn" not in content.lower()
    state_json = json.loads(content.split('id="wall-state" type="application/json">')[1].split("</script>")[0])
    assert [row["conversation_id"] for row in state_json["waiting"]] == [conversation.pk]
    assert state_json["waiting"][0]["level"] == "at_risk"
    config = response.context["config"]
    assert config["shop"] == shop.pk and config["state_url"] == state(shop)
    assert config["socket_path"] == "/ws/v1/events/"
    assert "agent.status_changed" in config["refresh_on"] and "message.created" in config["refresh_on"]


def test_wall_state_answers_json(admin_client, shop):
    agent = AgentFactory(shop=shop, status=AgentStatus.ONLINE)
    waiting_chat(shop, agent, seconds=200)
    waiting_chat(shop, seconds=20)
    response = admin_client.get(state(shop))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert [row["level"] for row in data["waiting"]] == ["missed", "ok"]
    assert data["queue"]["length"] == 1
    assert data["waiting_counts"] == {"waiting": 2, "past_at_risk": 1, "past_missed": 1}
    assert data["shop"] == {"id": shop.pk, "name": shop.name, "timezone": shop.timezone}
    assert isinstance(data["waiting"][0]["since"], str)


@pytest.mark.parametrize("role", [AgentRole.OWNER, AgentRole.SUPERVISOR])
def test_shop_managers_watch_their_own_shop_only(shop_staff_admin_client, shop, other_shop, role):
    client = shop_staff_admin_client(shop, "view_wall", role=role)
    assert client.get(page(shop)).status_code == 200
    assert client.get(state(shop)).status_code == 200
    assert client.get(page(other_shop)).status_code == 404
    assert client.get(state(other_shop)).status_code == 404
    listed = client.get(reverse("admin:chats_wall_changelist"))
    assert [wall.pk for wall in listed.context["cl"].result_list] == [shop.pk]


def test_agents_get_no_wall_whatever_their_permissions(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_wall", role=AgentRole.AGENT)
    assert client.get(page(shop)).status_code == 403
    assert client.get(state(shop)).status_code == 403
    assert client.get(page(other_shop)).status_code == 403
    assert client.get(reverse("admin:chats_wall_changelist")).status_code == 403


def test_managers_without_the_permission_get_no_wall(shop_staff_admin_client, shop):
    client = shop_staff_admin_client(shop, role=AgentRole.OWNER)
    assert client.get(page(shop)).status_code == 403
    assert client.get(state(shop)).status_code == 403


def test_platform_staff_watch_every_shop(platform_staff_client, shop, other_shop):
    client = platform_staff_client("view_wall")
    assert client.get(page(shop)).status_code == 200
    assert client.get(page(other_shop)).status_code == 200
    assert client.get(state(other_shop)).status_code == 200
    assert platform_staff_client().get(page(shop)).status_code == 403


def test_anonymous_users_are_sent_to_the_login(client, shop):
    for url in (page(shop), state(shop)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_a_missing_shop_answers_404(admin_client):
    assert admin_client.get(reverse("admin:chats_wall_change", args=[987654])).status_code == 404
    assert admin_client.get(reverse("admin:chats_wall_state", args=[987654])).status_code == 404


def test_the_conversations_list_links_to_the_walls(admin_client, shop_staff_admin_client, shop):
    walls = reverse("admin:chats_wall_changelist")
    assert walls.encode() in admin_client.get(reverse("admin:chats_conversation_changelist")).content
    without = shop_staff_admin_client(shop, "view_conversation")
    assert walls.encode() not in without.get(reverse("admin:chats_conversation_changelist")).content
    listed = admin_client.get(walls)
    assert page(shop).encode() in listed.content


def test_wall_page_speaks_chinese(admin_client, shop):
    with translation.override("zh-hans"):
        response = admin_client.get(page(shop), HTTP_ACCEPT_LANGUAGE="zh-hans")
    content = response.content.decode()
    assert "今日 3 分钟响应率" in content and "等待回复的会话" in content
    strings = response.context["strings"]
    assert strings["live"] == "实时" and strings["reconnecting"] == "重新连接中…"
    assert strings["statuses"]["online"] != "Online"


def test_wall_page_and_state_query_counts_are_flat_as_rows_grow(admin_client, shop):
    def counts():
        result = []
        for url in (page(shop), state(shop)):
            with CaptureQueriesContext(connection) as ctx:
                assert admin_client.get(url).status_code == 200
            result.append(len(ctx.captured_queries))
        return result

    agent = AgentFactory(shop=shop, status=AgentStatus.ONLINE)
    waiting_chat(shop, agent)
    small = counts()
    for seconds in (10, 130, 200, 400):
        extra = AgentFactory(shop=shop, status=AgentStatus.BUSY)
        waiting_chat(shop, extra, seconds=seconds)
        waiting_chat(shop, seconds=seconds)
    big = counts()
    assert big == small

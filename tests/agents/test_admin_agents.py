"""Admin for agents (sub-accounts): query counts, tenancy, actions that call services, form validation."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.admin import agents as agent_admin
from agents.choices import AgentRole, AgentStatus
from agents.models import Agent
from chats.choices import ConversationStatus
from chats.routing.agent_changes import agent_update
from tests.agents.factories import AgentFactory, RoutingGroupFactory, UserFactory
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

AGENT_CHANGELIST = reverse("admin:agents_agent_changelist")
AGENT_ADD = reverse("admin:agents_agent_add")
User = get_user_model()


def _changelist(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), list(response.context["cl"].result_list)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("url", [AGENT_CHANGELIST, reverse("admin:agents_routinggroup_changelist")])
@pytest.mark.parametrize("caller", ["platform", "shop_staff"])
def test_agent_admin_changelist_query_count_is_flat(admin_client, shop_staff_admin_client, shop, url, caller):
    client = admin_client if caller == "platform" else shop_staff_admin_client(shop, "view_agent", "view_routinggroup")

    def grow(n):
        for _ in range(n):
            members = AgentFactory.create_batch(2, shop=shop)
            RoutingGroupFactory(shop=shop, members=members)
            RoutingGroupFactory(shop=ShopFactory(), members=[AgentFactory()])

    grow(2)
    small_queries, small_rows = _changelist(client, url)
    grow(6)
    big_queries, big_rows = _changelist(client, url)
    assert len(big_rows) > len(small_rows)
    assert big_queries == small_queries


def test_agent_changelist_shop_staff_sees_only_their_shop(shop_staff_admin_client, shop, other_shop):
    own = AgentFactory(shop=shop)
    foreign = AgentFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_agent", "change_agent")
    _, rows = _changelist(client, AGENT_CHANGELIST)
    assert own in rows and foreign not in rows
    assert {agent.shop_id for agent in rows} == {shop.pk}
    response = client.get(reverse("admin:agents_agent_change", args=[foreign.pk]), follow=True)
    assert response.redirect_chain[0][1] == 302
    assert "doesn’t exist" in _messages(response)[0]


def test_agent_admin_group_count_column(admin_client, shop):
    agent = AgentFactory(shop=shop)
    RoutingGroupFactory(shop=shop, members=[agent])
    RoutingGroupFactory(shop=shop, members=[agent])
    _, rows = _changelist(admin_client, AGENT_CHANGELIST)
    assert {row.pk: row.group_total for row in rows}[agent.pk] == 2


@pytest.mark.parametrize(("action", "before", "after"), [
    ("set_status_online", AgentStatus.OFFLINE, AgentStatus.ONLINE),
    ("set_status_offline", AgentStatus.ONLINE, AgentStatus.OFFLINE),
])  # fmt: skip
def test_agent_admin_set_status_action_changes_status(admin_client, shop, action, before, after):
    agents = AgentFactory.create_batch(2, shop=shop, status=before)
    untouched = AgentFactory(shop=shop, status=before)
    response = admin_client.post(
        AGENT_CHANGELIST, {"action": action, "_selected_action": [agent.pk for agent in agents]}, follow=True
    )
    assert response.status_code == 200
    assert "2 agents set to" in _messages(response)[0]
    for agent in agents:
        agent.refresh_from_db()
        assert agent.status == after
        assert agent.status_changed_at > untouched.status_changed_at
    untouched.refresh_from_db()
    assert untouched.status == before


def test_agent_admin_set_status_action_cannot_reach_another_shop(shop_staff_admin_client, shop, other_shop):
    foreign = AgentFactory(shop=other_shop, status=AgentStatus.OFFLINE)
    client = shop_staff_admin_client(shop, "view_agent", "change_agent")
    client.post(AGENT_CHANGELIST, {"action": "set_status_online", "_selected_action": [foreign.pk]})
    foreign.refresh_from_db()
    assert foreign.status == AgentStatus.OFFLINE


def test_agent_admin_recount_action_fixes_a_wrong_counter(admin_client, shop):
    agent = AgentFactory(shop=shop)
    ConversationFactory.create_batch(2, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.BOT)
    Agent.objects.filter(pk=agent.pk).update(active_chats=7)
    response = admin_client.post(
        AGENT_CHANGELIST, {"action": "recount_active_chats", "_selected_action": [agent.pk]}, follow=True
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.active_chats == 2


def test_agent_admin_status_and_counters_are_read_only(admin_client, shop):
    agent = AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    form = admin_client.get(url).context["adminform"].form
    assert {"status", "active_chats", "status_changed_at", "shop", "user"}.isdisjoint(form.fields)
    data = {"display_name": "Renamed", "role": AgentRole.AGENT, "capacity": 8, "status": "online", "active_chats": 9}
    assert admin_client.post(url, data).status_code == 302
    agent.refresh_from_db()
    assert (agent.display_name, agent.capacity, agent.status, agent.active_chats) == ("Renamed", 8, "offline", 0)


def _new_agent(shop, **fields):
    data = {"username": "new.agent", "password": "Lantern-Quiet-42", "shop": shop.pk, "display_name": "New agent"}
    return data | {"role": AgentRole.AGENT, "capacity": 4} | fields


def _add_form_errors(response):
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def test_agent_admin_add_creates_the_login_and_the_agent(admin_client, shop):
    groups = RoutingGroupFactory.create_batch(2, shop=shop)
    RoutingGroupFactory(shop=shop)
    data = _new_agent(shop, routing_groups=[group.pk for group in groups])
    response = admin_client.post(AGENT_ADD, data)
    assert response.status_code == 302
    agent = Agent.objects.select_related("user").get(user__username="new.agent")
    assert (agent.shop, agent.display_name, agent.role, agent.capacity) == (shop, "New agent", AgentRole.AGENT, 4)
    assert (agent.status, agent.active_chats) == (AgentStatus.OFFLINE, 0)
    assert set(agent.routing_groups.all()) == set(groups)
    assert not agent.user.is_staff
    token = Client().post(
        "/api/v1/auth/token/",
        {"username": "new.agent", "password": "Lantern-Quiet-42"},
        content_type="application/json",
    )
    assert token.status_code == 200


def test_agent_admin_add_form_has_no_user_field_and_scoped_choices(shop_staff_admin_client, shop, other_shop):
    own_group = RoutingGroupFactory(shop=shop)
    RoutingGroupFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_agent", "add_agent")
    response = client.get(AGENT_ADD)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "user" not in form.fields
    assert {"username", "password", "routing_groups"} <= set(form.fields)
    assert list(form.fields["shop"].queryset) == [shop]
    assert form.initial["shop"] == shop.pk
    assert list(form.fields["routing_groups"].queryset) == [own_group]


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("password", {"username": "fresh.agent", "password": "password"}),
        ("password", {"username": "fresh.agent", "password": "fresh.agent1"}),
        ("password", {"username": "fresh.agent", "password": "k9#x"}),
        ("username", {"username": "New.Agent"}),
        ("username", {"username": "new agent"}),
    ],
    ids=["common-password", "like-the-username", "too-short", "taken-username", "invalid-username"],
)
def test_agent_admin_add_refusals_are_form_errors_and_create_nothing(admin_client, shop, field, fields):
    UserFactory(username="new.agent")  # taken: usernames compare case-insensitively
    users_before = User.objects.count()
    errors = _add_form_errors(admin_client.post(AGENT_ADD, _new_agent(shop, **fields)))
    assert list(errors) == [field]
    assert User.objects.count() == users_before
    assert not Agent.objects.filter(display_name="New agent").exists()


def test_agent_admin_add_refuses_groups_of_another_shop(admin_client, shop, other_shop):
    foreign = RoutingGroupFactory(shop=other_shop)
    errors = _add_form_errors(admin_client.post(AGENT_ADD, _new_agent(shop, routing_groups=[foreign.pk])))
    assert "routing_groups" in errors
    assert not User.objects.filter(username="new.agent").exists()


def test_agent_admin_shop_owner_adds_agents_to_their_shop_only(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_agent", "add_agent")
    errors = _add_form_errors(client.post(AGENT_ADD, _new_agent(other_shop)))
    assert "shop" in errors
    assert not User.objects.filter(username="new.agent").exists()
    assert not other_shop.agents.exists()

    assert client.post(AGENT_ADD, _new_agent(shop, role=AgentRole.OWNER)).status_code == 302
    assert Agent.objects.get(user__username="new.agent").shop == shop


def test_agent_admin_supervisor_may_not_create_an_owner(shop_staff_admin_client, shop):
    client = shop_staff_admin_client(shop, "view_agent", "add_agent", role=AgentRole.SUPERVISOR)
    errors = _add_form_errors(client.post(AGENT_ADD, _new_agent(shop, role=AgentRole.OWNER)))
    assert list(errors) == ["role"]
    assert not User.objects.filter(username="new.agent").exists()

    assert client.post(AGENT_ADD, _new_agent(shop, role=AgentRole.SUPERVISOR)).status_code == 302
    assert Agent.objects.get(user__username="new.agent").role == AgentRole.SUPERVISOR


def test_agent_admin_supervisor_may_not_promote_to_or_change_an_owner(shop_staff_admin_client, shop):
    agent = AgentFactory(shop=shop, role=AgentRole.AGENT)
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    client = shop_staff_admin_client(shop, "view_agent", "change_agent", role=AgentRole.SUPERVISOR)
    data = {"display_name": "Renamed", "capacity": 5}
    for target, role in ((agent, AgentRole.OWNER), (owner, AgentRole.AGENT), (owner, AgentRole.OWNER)):
        response = client.post(reverse("admin:agents_agent_change", args=[target.pk]), data | {"role": role})
        assert "role" in _add_form_errors(response)
    assert Agent.objects.get(pk=agent.pk).role == AgentRole.AGENT
    assert Agent.objects.get(pk=owner.pk).role == AgentRole.OWNER


def test_agent_admin_change_saves_through_the_service(admin_client, shop, monkeypatch):
    agent = AgentFactory(shop=shop, capacity=2)
    calls = []
    monkeypatch.setattr(agent_admin, "agent_update", lambda **kwargs: calls.append(kwargs) or agent_update(**kwargs))
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    data = {"display_name": agent.display_name, "role": AgentRole.AGENT, "capacity": 3}
    assert admin_client.post(url, data).status_code == 302
    assert calls == [{"agent": agent, "capacity": 3}]
    agent.refresh_from_db()
    assert agent.capacity == 3

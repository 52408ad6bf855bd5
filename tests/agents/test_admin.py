"""Admin for agents and routing groups: query counts, tenancy, actions that call services, form validation."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.choices import AgentRole, AgentStatus
from agents.models import Agent, RoutingGroup
from chats.choices import ConversationStatus
from tests.agents.factories import AgentFactory, RoutingGroupFactory, StaffUserFactory, UserFactory
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

AGENT_CHANGELIST = reverse("admin:agents_agent_changelist")
GROUP_CHANGELIST = reverse("admin:agents_routinggroup_changelist")
GROUP_ADD = reverse("admin:agents_routinggroup_add")


def login_shop_staff(client, shop, *codenames):
    """A shop owner given admin access: staff, with a sub-account in ``shop`` and the given permissions."""
    user = UserFactory(is_staff=True)
    AgentFactory(shop=shop, user=user, role=AgentRole.OWNER)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def _changelist(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), list(response.context["cl"].result_list)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("url", [AGENT_CHANGELIST, GROUP_CHANGELIST])
@pytest.mark.parametrize("caller", ["platform", "shop_staff"])
def test_agent_admin_changelist_query_count_is_flat(client, admin_user, shop, url, caller):
    if caller == "platform":
        client.force_login(admin_user)
    else:
        login_shop_staff(client, shop, "view_agent", "view_routinggroup")

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


def test_agent_changelist_shop_staff_sees_only_their_shop(client, shop, other_shop):
    own = AgentFactory(shop=shop)
    foreign = AgentFactory(shop=other_shop)
    login_shop_staff(client, shop, "view_agent", "change_agent")
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


def test_agent_admin_set_status_action_cannot_reach_another_shop(client, shop, other_shop):
    foreign = AgentFactory(shop=other_shop, status=AgentStatus.OFFLINE)
    login_shop_staff(client, shop, "view_agent", "change_agent")
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


def test_agent_admin_add_attaches_an_existing_login(admin_client, shop):
    user = UserFactory()
    data = {"user": user.pk, "shop": shop.pk, "display_name": "New agent", "role": AgentRole.AGENT, "capacity": 4}
    response = admin_client.post(reverse("admin:agents_agent_add"), data)
    assert response.status_code == 302
    agent = Agent.objects.get(user=user)
    assert (agent.shop, agent.status, agent.active_chats) == (shop, AgentStatus.OFFLINE, 0)


def test_agent_admin_shop_staff_may_attach_only_a_fresh_login(client, shop, other_shop):
    fresh = UserFactory()
    staff = StaffUserFactory()
    foreign_agent = AgentFactory(shop=other_shop)
    login_shop_staff(client, shop, "view_agent", "add_agent")
    form = client.get(reverse("admin:agents_agent_add")).context["adminform"].form
    choices = set(form.fields["user"].queryset)
    assert fresh in choices
    assert staff not in choices and foreign_agent.user not in choices
    assert list(form.fields["shop"].queryset) == [shop]


def test_routing_group_admin_make_default_moves_the_flag(admin_client, shop):
    old = RoutingGroupFactory(shop=shop, is_default=True)
    new = RoutingGroupFactory(shop=shop)
    response = admin_client.post(
        GROUP_CHANGELIST, {"action": "make_default", "_selected_action": [new.pk]}, follow=True
    )
    assert "is now the default group" in _messages(response)[0]
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_default, new.is_default) == (False, True)


def test_routing_group_admin_make_default_needs_exactly_one_group(admin_client, shop):
    first, second = RoutingGroupFactory.create_batch(2, shop=shop)
    response = admin_client.post(
        GROUP_CHANGELIST, {"action": "make_default", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "exactly one" in _messages(response)[0]
    assert not RoutingGroup.objects.filter(is_default=True).exists()


def test_routing_group_admin_second_default_is_a_form_error(admin_client, shop):
    RoutingGroupFactory(shop=shop, is_default=True)
    other = RoutingGroupFactory(shop=shop)
    response = admin_client.post(
        GROUP_ADD, {"shop": shop.pk, "name": "After-sales", "phase": "any", "is_default": "on"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not RoutingGroup.objects.filter(name="After-sales").exists()

    change = reverse("admin:agents_routinggroup_change", args=[other.pk])
    response = admin_client.post(change, {"name": other.name, "phase": "any", "is_default": "on"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    other.refresh_from_db()
    assert other.is_default is False


def test_routing_group_admin_duplicate_name_on_change_is_a_form_error(admin_client, shop):
    RoutingGroupFactory(shop=shop, name="Pre-sales")
    other = RoutingGroupFactory(shop=shop, name="After-sales")
    change = reverse("admin:agents_routinggroup_change", args=[other.pk])
    response = admin_client.post(change, {"name": "Pre-sales", "phase": "any"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()


def test_routing_group_admin_refuses_members_of_another_shop(admin_client, shop, other_shop):
    foreign = AgentFactory(shop=other_shop)
    own = AgentFactory(shop=shop)
    data = {"shop": shop.pk, "name": "Pre-sales", "phase": "pre_sales", "members": [own.pk, foreign.pk]}
    response = admin_client.post(GROUP_ADD, data)
    assert response.status_code == 200
    assert "members" in response.context["adminform"].form.errors
    data["members"] = [own.pk]
    assert admin_client.post(GROUP_ADD, data).status_code == 302
    assert list(RoutingGroup.objects.get(name="Pre-sales").members.all()) == [own]


def test_routing_group_admin_member_choices_are_the_callers_agents(client, shop, other_shop):
    own = AgentFactory(shop=shop)
    AgentFactory(shop=other_shop)
    login_shop_staff(client, shop, "view_routinggroup", "add_routinggroup", "view_agent")
    form = client.get(GROUP_ADD).context["adminform"].form
    assert own in form.fields["members"].queryset
    assert {agent.shop_id for agent in form.fields["members"].queryset} == {shop.pk}
    autocomplete = client.get(
        reverse("admin:autocomplete"), {"app_label": "agents", "model_name": "routinggroup", "field_name": "members"}
    )
    ids = {int(item["id"]) for item in autocomplete.json()["results"]}
    assert own.pk in ids
    assert set(Agent.objects.filter(pk__in=ids).values_list("shop_id", flat=True)) == {shop.pk}

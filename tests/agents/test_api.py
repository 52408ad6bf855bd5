import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from agents.choices import AgentRole, AgentStatus
from agents.models import Agent, RoutingGroup
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _new_agent(shop, **extra):
    return {"shop": shop.pk, "username": "xiaomei", "password": "Tmall-2026-strong", "display_name": "小美", **extra}


def test_owner_creates_an_agent_who_can_log_in(shop, owner_client):
    group = RoutingGroupFactory(shop=shop)
    response = owner_client.post("/api/v1/agents/", _new_agent(shop, capacity=8, groups=[group.pk]), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "password" not in body
    assert (body["username"], body["role"], body["status"], body["active_chats"], body["groups"]) == (
        "xiaomei",
        "agent",
        "offline",
        0,
        [group.pk],
    )
    token = APIClient().post("/api/v1/auth/token/", {"username": "xiaomei", "password": "Tmall-2026-strong"})
    assert token.status_code == 200


def test_agents_may_not_manage_agents(shop, agent_client, agent):
    assert agent_client.post("/api/v1/agents/", _new_agent(shop), format="json").status_code == 403
    assert agent_client.patch(f"/api/v1/agents/{agent.pk}/", {"capacity": 50}, format="json").status_code == 403
    assert not get_user_model().objects.filter(username="xiaomei").exists()


def test_only_owners_grant_the_owner_role(shop, supervisor, owner_client, agent):
    supervisor_client = client_for(supervisor.user)
    assert supervisor_client.post("/api/v1/agents/", _new_agent(shop, role="owner"), format="json").status_code == 403
    assert supervisor_client.patch(f"/api/v1/agents/{agent.pk}/", {"role": "owner"}, format="json").status_code == 403
    assert supervisor_client.patch(f"/api/v1/agents/{agent.pk}/", {"capacity": 9}, format="json").status_code == 200
    assert owner_client.patch(f"/api/v1/agents/{agent.pk}/", {"role": "owner"}, format="json").status_code == 200
    assert Agent.objects.get(pk=agent.pk).role == AgentRole.OWNER


def test_agent_changes_own_status_only(shop, agent, agent_client):
    colleague = AgentFactory(shop=shop)
    response = agent_client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "busy"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "busy"
    assert agent_client.post(f"/api/v1/agents/{colleague.pk}/status/", {"status": "offline"}).status_code == 403
    assert agent_client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "asleep"}).status_code == 400
    assert Agent.objects.get(pk=colleague.pk).status == AgentStatus.ONLINE


def test_status_repeat_keeps_the_time_it_changed(agent, agent_client, supervisor):
    first = agent_client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "away"}).json()["status_changed_at"]
    again = agent_client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "away"}).json()["status_changed_at"]
    assert first == again
    by_supervisor = client_for(supervisor.user).post(f"/api/v1/agents/{agent.pk}/status/", {"status": "online"})
    assert by_supervisor.status_code == 200
    assert by_supervisor.json()["status_changed_at"] > first


def test_making_a_group_default_takes_the_flag_from_the_previous_one(shop, owner_client, agent):
    old = RoutingGroupFactory(shop=shop, name="售前", is_default=True)
    response = owner_client.post(
        "/api/v1/routing-groups/",
        {"shop": shop.pk, "name": "售后", "phase": "after_sales", "is_default": True, "members": [agent.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["members"] == [agent.pk]
    old.refresh_from_db()
    assert old.is_default is False
    assert list(RoutingGroup.objects.filter(shop=shop, is_default=True).values_list("name", flat=True)) == ["售后"]


def test_group_members_replaced_and_group_deleted(shop, owner_client, agent):
    other = AgentFactory(shop=shop)
    group = RoutingGroupFactory(shop=shop, members=[agent])
    response = owner_client.patch(f"/api/v1/routing-groups/{group.pk}/", {"members": [other.pk]}, format="json")
    assert response.json()["members"] == [other.pk]
    assert owner_client.delete(f"/api/v1/routing-groups/{group.pk}/").status_code == 204
    assert not RoutingGroup.objects.filter(pk=group.pk).exists()
    assert Agent.objects.filter(pk__in=[agent.pk, other.pk]).count() == 2


def test_agent_list_filters(shop, owner_client, agent):
    AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    group = RoutingGroupFactory(shop=shop, members=[agent])
    online = owner_client.get("/api/v1/agents/", {"status": "online"}).json()["results"]
    assert agent.pk in [a["id"] for a in online]
    assert all(a["status"] == "online" for a in online)
    in_group = owner_client.get("/api/v1/agents/", {"group": group.pk}).json()["results"]
    assert [a["id"] for a in in_group] == [agent.pk]

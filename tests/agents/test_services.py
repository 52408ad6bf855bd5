from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from agents.choices import AgentRole
from agents.models import Agent
from agents.services import agent_check_may_manage
from backoffice.errors import NotAllowed
from backoffice.tenancy import Caller, CallerRole
from chats.choices import ConversationStatus
from chats.routing.agent_changes import agent_recount_active_chats
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_recount_active_chats_counts_only_human_chats(shop, other_shop):
    busy, idle, elsewhere = AgentFactory(shop=shop), AgentFactory(shop=shop), AgentFactory(shop=other_shop)
    ConversationFactory.create_batch(2, shop=shop, agent=busy, status=ConversationStatus.HUMAN)
    start = timezone.now() - timedelta(hours=1)
    ConversationFactory(
        shop=shop, agent=busy, status=ConversationStatus.ENDED, started_at=start, ended_at=timezone.now()
    )
    Agent.objects.update(active_chats=7)
    assert agent_recount_active_chats(shop_ids=[shop.pk]) == 2
    counts = dict(Agent.objects.values_list("pk", "active_chats"))
    assert counts == {busy.pk: 2, idle.pk: 0, elsewhere.pk: 7}  # other shops are left alone


# --- The owner-role rule: one service check, applied by the API and the admin --------------------------------------

OWNER_REFUSAL = "Only the shop owner may create or change an owner account."


def _caller(role: str) -> Caller:
    return Caller(user_id=1, role=role, shop_ids=None if role == CallerRole.PLATFORM else frozenset([1]))


@pytest.mark.parametrize(
    ("caller_role", "agent_role", "role", "allowed"),
    [
        # creating (no agent yet)
        (CallerRole.OWNER, None, AgentRole.OWNER, True),
        (CallerRole.PLATFORM, None, AgentRole.OWNER, True),
        (CallerRole.SUPERVISOR, None, AgentRole.OWNER, False),
        (CallerRole.INTEGRATION, None, AgentRole.OWNER, False),
        (CallerRole.SUPERVISOR, None, AgentRole.SUPERVISOR, True),
        (CallerRole.SUPERVISOR, None, None, True),
        # changing an owner's account, whatever the change
        (CallerRole.SUPERVISOR, AgentRole.OWNER, None, False),
        (CallerRole.SUPERVISOR, AgentRole.OWNER, AgentRole.OWNER, False),
        (CallerRole.SUPERVISOR, AgentRole.OWNER, AgentRole.AGENT, False),
        (CallerRole.OWNER, AgentRole.OWNER, AgentRole.AGENT, True),
        (CallerRole.PLATFORM, AgentRole.OWNER, None, True),
        # giving someone the owner role
        (CallerRole.SUPERVISOR, AgentRole.AGENT, AgentRole.OWNER, False),
        (CallerRole.OWNER, AgentRole.AGENT, AgentRole.OWNER, True),
        (CallerRole.PLATFORM, AgentRole.SUPERVISOR, AgentRole.OWNER, True),
        # anything else is not this rule's business
        (CallerRole.SUPERVISOR, AgentRole.AGENT, None, True),
        (CallerRole.SUPERVISOR, AgentRole.AGENT, AgentRole.SUPERVISOR, True),
    ],
)
def test_agent_check_may_manage_owner_rule(caller_role, agent_role, role, allowed, django_assert_num_queries):
    agent = None if agent_role is None else Agent(role=agent_role)
    with django_assert_num_queries(0):
        if allowed:
            agent_check_may_manage(caller=_caller(caller_role), agent=agent, role=role)
        else:
            with pytest.raises(NotAllowed) as refused:
                agent_check_may_manage(caller=_caller(caller_role), agent=agent, role=role)
    if not allowed:
        assert (str(refused.value.message), refused.value.status, refused.value.field) == (OWNER_REFUSAL, 403, None)


def test_api_and_admin_refuse_a_supervisor_with_the_same_message(shop, owner, supervisor, shop_staff_admin_client):
    capacity = owner.capacity
    api = client_for(supervisor.user)
    new = {"shop": shop.pk, "username": "xiaomei", "password": "Tmall-2026-strong", "display_name": "小美"}
    created = api.post("/api/v1/agents/", new | {"role": "owner"}, format="json")
    changed = api.patch(f"/api/v1/agents/{owner.pk}/", {"capacity": 9}, format="json")
    assert [(r.status_code, r.json()) for r in (created, changed)] == [
        (403, {"detail": OWNER_REFUSAL, "code": "NotAllowed"})
    ] * 2

    admin = shop_staff_admin_client(shop, "view_agent", "add_agent", "change_agent", role=AgentRole.SUPERVISOR)
    add = admin.post(reverse("admin:agents_agent_add"), new | {"role": AgentRole.OWNER, "capacity": 4})
    change = admin.post(
        reverse("admin:agents_agent_change", args=[owner.pk]),
        {"display_name": owner.display_name, "role": AgentRole.OWNER, "capacity": 9},
    )
    assert [response.context["adminform"].form.errors for response in (add, change)] == [{"role": [OWNER_REFUSAL]}] * 2
    assert not get_user_model().objects.filter(username="xiaomei").exists()
    owner.refresh_from_db()
    assert capacity != 9 and owner.capacity == capacity

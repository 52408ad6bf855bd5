"""Admin for routing groups: query counts, the make-default action, form validation, scoped member choices."""

import pytest
from django.urls import reverse

from agents.models import Agent, RoutingGroup
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.agents.test_admin_agents import _messages

pytestmark = pytest.mark.django_db

GROUP_CHANGELIST = reverse("admin:agents_routinggroup_changelist")
GROUP_ADD = reverse("admin:agents_routinggroup_add")


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


def test_routing_group_admin_member_choices_are_the_callers_agents(shop_staff_admin_client, shop, other_shop):
    own = AgentFactory(shop=shop)
    AgentFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_routinggroup", "add_routinggroup", "view_agent")
    form = client.get(GROUP_ADD).context["adminform"].form
    assert own in form.fields["members"].queryset
    assert {agent.shop_id for agent in form.fields["members"].queryset} == {shop.pk}
    autocomplete = client.get(
        reverse("admin:autocomplete"), {"app_label": "agents", "model_name": "routinggroup", "field_name": "members"}
    )
    ids = {int(item["id"]) for item in autocomplete.json()["results"]}
    assert own.pk in ids
    assert set(Agent.objects.filter(pk__in=ids).values_list("shop_id", flat=True)) == {shop.pk}

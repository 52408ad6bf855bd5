"""Admin for auto-reply rules: actions and adds through the service, its rules as form errors."""

import pytest
from django.urls import reverse

from agents.choices import AutoReplyTrigger
from agents.models import AutoReplyRule
from tests.agents.factories import AutoReplyRuleFactory

pytestmark = pytest.mark.django_db


def test_rule_actions_switch_rules_through_the_service(admin_client, shop):
    rule = AutoReplyRuleFactory(shop=shop, enabled=False)
    response = admin_client.post(
        reverse("admin:agents_autoreplyrule_changelist"),
        {"action": "switch_on", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert AutoReplyRule.objects.get(pk=rule.pk).enabled is True


def test_rule_add_needs_a_threshold_for_over_capacity(admin_client, shop):
    response = admin_client.post(
        reverse("admin:agents_autoreplyrule_add"),
        {"shop": shop.pk, "trigger": AutoReplyTrigger.OVER_CAPACITY, "content": "many", "enabled": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert AutoReplyRule.objects.count() == 0

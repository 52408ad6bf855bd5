"""Admin for the workbench: phrase import (two steps) and export, rules and tasks changed through services."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agents.choices import AgentRole, AutoReplyTrigger
from agents.models import AutoReplyRule, QuickPhrase
from chats.choices import TaskStatus
from chats.models import FollowUpTask
from tests.agents.factories import AgentFactory, AutoReplyRuleFactory, QuickPhraseFactory
from tests.chats.factories import FollowUpTaskFactory

pytestmark = pytest.mark.django_db

PHRASES = "admin:agents_quickphrase"
CSV_TEXT = "scope,shortcut,title,content,category\nteam,/hi,Hi,亲，在的,greeting\npersonal,/me,Me,mine,x\n"


def _import(client, shop, text=CSV_TEXT):
    upload = SimpleUploadedFile("phrases.csv", text.encode("utf-8"), content_type="text/csv")
    response = client.post(
        reverse(f"{PHRASES}_import"), {"resource": "0", "format": "0", "import_file": upload, "shop": shop.pk}
    )
    assert response.status_code == 200
    return response


def test_platform_staff_import_team_phrases_in_two_steps(admin_client, shop):
    response = _import(admin_client, shop, "scope,shortcut,title,content,category\nteam,/hi,Hi,亲，在的,greeting\n")
    assert QuickPhrase.objects.count() == 0  # the first step is a dry run
    confirm = response.context["confirm_form"]
    data = {name: confirm.initial.get(name, "") for name in confirm.fields}
    response = admin_client.post(reverse(f"{PHRASES}_process_import"), data)
    assert response.status_code == 302
    phrase = QuickPhrase.objects.get()
    assert (phrase.shop, phrase.scope, phrase.shortcut, phrase.content) == (shop, "team", "/hi", "亲，在的")


def test_admin_import_shows_bad_rows_and_offers_no_confirm(admin_client, shop):
    response = _import(admin_client, shop)  # platform staff have no personal phrases: row 2 of the data is invalid
    assert response.context["result"].has_validation_errors()
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert QuickPhrase.objects.count() == 0


def test_shop_staff_import_into_their_own_shop_only(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_quickphrase", "add_quickphrase", "change_quickphrase")
    response = client.post(
        reverse(f"{PHRASES}_import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("p.csv", CSV_TEXT.encode()),
            "shop": other_shop.pk,
        },
    )
    assert "shop" in response.context["form"].errors
    response = _import(client, shop)
    confirm = response.context["confirm_form"]
    data = {name: confirm.initial.get(name, "") for name in confirm.fields}
    assert client.post(reverse(f"{PHRASES}_process_import"), data).status_code == 302
    assert set(QuickPhrase.objects.values_list("shop", "scope", "shortcut")) == {
        (shop.pk, "team", "/hi"),
        (shop.pk, "personal", "/me"),
    }
    assert QuickPhrase.objects.get(shortcut="/me").owner.role == AgentRole.OWNER


def test_admin_export_of_selected_phrases(admin_client, shop):
    phrase = QuickPhraseFactory(shop=shop, shortcut="/hi", content="亲，在的")
    response = admin_client.post(
        reverse(f"{PHRASES}_export"),
        {
            "format": "0",
            "resource": "0",
            "export_items": [phrase.pk],
            **{f"quickphraseresource_{name}": "on" for name in ("scope", "shortcut", "title", "content", "category")},
        },
    )
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "team,/hi" in text and "亲，在的" in text


def test_team_phrase_without_subaccounts_is_a_form_error(admin_client, shop):
    shop.subaccounts_enabled = False
    shop.save()
    response = admin_client.post(
        reverse(f"{PHRASES}_add"), {"shop": shop.pk, "scope": "team", "shortcut": "/x", "content": "x", "title": ""}
    )
    assert response.status_code == 200
    assert "scope" in response.context["adminform"].form.errors
    assert QuickPhrase.objects.count() == 0


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


def test_task_admin_adds_through_the_service_and_refuses_another_shops_handler(admin_client, shop, agent):
    url = reverse("admin:chats_followuptask_add")
    body = {
        "shop": shop.pk,
        "kind": "follow_up",
        "content": "回访",
        "handler": AgentFactory().pk,
        "remind_at_0": "2026-03-02",
        "remind_at_1": "10:00:00",
    }
    response = admin_client.post(url, body)
    assert response.status_code == 200
    assert "handler" in response.context["adminform"].form.errors
    response = admin_client.post(url, {**body, "handler": agent.pk})
    assert response.status_code == 302
    task = FollowUpTask.objects.get()
    assert (task.handler, task.status, task.created_by.is_superuser) == (agent, TaskStatus.OPEN, True)


def test_task_admin_actions_complete_and_cancel(admin_client, agent):
    done, cancelled = (
        FollowUpTaskFactory(shop=agent.shop, handler=agent),
        FollowUpTaskFactory(shop=agent.shop, handler=agent),
    )
    changelist = reverse("admin:chats_followuptask_changelist")
    admin_client.post(changelist, {"action": "complete", "_selected_action": [done.pk]})
    admin_client.post(changelist, {"action": "cancel", "_selected_action": [done.pk, cancelled.pk]})
    assert FollowUpTask.objects.get(pk=done.pk).status == TaskStatus.DONE
    assert FollowUpTask.objects.get(pk=cancelled.pk).status == TaskStatus.CANCELLED


def test_phrase_changelist_hides_other_shops_from_shop_staff(shop_staff_admin_client, shop, other_shop):
    own = QuickPhraseFactory(shop=shop)
    QuickPhraseFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_quickphrase")
    rows = client.get(reverse(f"{PHRASES}_changelist")).context["cl"].result_list
    assert list(rows) == [own]


def test_import_needs_add_and_change_permissions(shop_staff_admin_client, shop):
    viewer = shop_staff_admin_client(shop, "view_quickphrase")
    upload = SimpleUploadedFile("p.csv", CSV_TEXT.encode())
    response = viewer.post(
        reverse(f"{PHRASES}_import"), {"resource": "0", "format": "0", "import_file": upload, "shop": shop.pk}
    )
    assert response.status_code == 403
    assert QuickPhrase.objects.count() == 0

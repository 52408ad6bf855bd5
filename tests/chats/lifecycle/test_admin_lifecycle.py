"""Admin pages of the chat lifecycle: force-close, queue positions, the rollout page, FAQ and the event log."""

import pytest
from django.urls import reverse

from agents.models import Agent
from chats import services
from chats.choices import ConversationStatus, EventKind
from chats.models import Conversation, FaqEntry, ServiceEvent
from shops.models import RolloutConfig
from tests.agents.factories import AgentFactory
from tests.chats.factories import FaqEntryFactory
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db


def test_force_close_frees_seats_and_moves_the_queue(admin_client, admin_user, shop):
    agent = AgentFactory(shop=shop, capacity=1)
    served = services.conversation_start(shop=shop, buyer=BuyerFactory())
    waiting = services.conversation_start(shop=shop, buyer=BuyerFactory())
    for chat in (served, waiting):
        services.transfer_to_human(conversation_id=chat.pk)
    changelist = reverse("admin:chats_conversation_changelist")
    page = admin_client.get(changelist, {"status__exact": "queued"})
    assert [c.annotated_queue_position for c in page.context["cl"].result_list] == [1]
    response = admin_client.post(changelist, {"action": "force_close", "_selected_action": [served.pk]}, follow=True)
    assert "1 chat closed." in response.content.decode()
    served.refresh_from_db()
    assert (served.status, served.closed_by) == ("ended", "system")
    assert Conversation.objects.get(pk=waiting.pk).status == ConversationStatus.HUMAN
    assert Agent.objects.get(pk=agent.pk).active_chats == 1
    event = ServiceEvent.objects.get(conversation=served, kind=EventKind.CLOSED)
    assert event.actor_id == admin_user.pk


def test_rollout_page_is_for_platform_staff(admin_client, shop, shop_staff_admin_client):
    config = RolloutConfig.current()
    url = reverse("admin:shops_rolloutconfig_change", args=[config.pk])
    body = {"exposure_percent": 40, "salt": "s2", "small_tier_start": "2022-08-30", "large_tier_start": "2022-09-30"}
    assert admin_client.post(url, body).status_code == 302
    assert RolloutConfig.current().exposure_percent == 40
    assert admin_client.post(url, {**body, "exposure_percent": 101}).status_code == 200  # form error, unchanged
    assert RolloutConfig.current().exposure_percent == 40
    staff = shop_staff_admin_client(shop, "view_rolloutconfig", "change_rolloutconfig")
    assert staff.get(url).status_code in (302, 403)


def test_faq_actions_and_shop_scope(admin_client, shop, other_shop, shop_staff_admin_client):
    mine, theirs = FaqEntryFactory(shop=shop), FaqEntryFactory(shop=other_shop)
    changelist = reverse("admin:chats_faqentry_changelist")
    admin_client.post(changelist, {"action": "disable_entries", "_selected_action": [mine.pk, theirs.pk]})
    assert list(FaqEntry.objects.filter(enabled=True)) == []
    staff = shop_staff_admin_client(shop, "view_faqentry", "change_faqentry")
    listed = [entry.pk for entry in staff.get(changelist).context["cl"].result_list]
    assert listed == [mine.pk]


def test_event_log_is_read_only(admin_client, shop):
    chat = services.conversation_start(shop=shop, buyer=BuyerFactory())
    event = ServiceEvent.objects.get(conversation=chat)
    assert admin_client.get(reverse("admin:chats_serviceevent_changelist")).status_code == 200
    assert admin_client.post(reverse("admin:chats_serviceevent_delete", args=[event.pk])).status_code == 403
    assert admin_client.get(reverse("admin:chats_serviceevent_add")).status_code == 403

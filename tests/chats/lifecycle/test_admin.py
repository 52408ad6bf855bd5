"""Admin for conversations and messages: read-only transcript, query counts, tenancy, no unbounded COUNT(*)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chats.admin.lifecycle import TranscriptInline
from chats.choices import ConversationStatus, Sender
from chats.models import Conversation, Message
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

CONVERSATION_CHANGELIST = reverse("admin:chats_conversation_changelist")
MESSAGE_CHANGELIST = reverse("admin:chats_message_changelist")


def _changelist(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), list(response.context["cl"].result_list)


def _grow(shop, n):
    """``n`` human-served conversations in ``shop``, each with its own agent, group and two messages."""
    for _ in range(n):
        agent = AgentFactory(shop=shop)
        conversation = ConversationFactory(
            shop=shop, agent=agent, group=RoutingGroupFactory(shop=shop), status=ConversationStatus.HUMAN
        )
        MessageFactory(conversation=conversation)
        MessageFactory(conversation=conversation, sender=Sender.AGENT, agent=agent)
        ConversationFactory(shop=ShopFactory())  # another shop's row: filtered out for the shop's staff


@pytest.mark.parametrize("url", [CONVERSATION_CHANGELIST, MESSAGE_CHANGELIST])
@pytest.mark.parametrize("caller", ["platform", "shop_staff"])
def test_chat_changelist_query_count_is_flat(admin_client, shop_staff_admin_client, shop, url, caller):
    client = (
        admin_client if caller == "platform" else shop_staff_admin_client(shop, "view_conversation", "view_message")
    )
    _grow(shop, 3)
    small_queries, small_rows = _changelist(client, url)
    _grow(shop, 6)
    big_queries, big_rows = _changelist(client, url)
    assert len(big_rows) > len(small_rows)
    assert big_queries == small_queries


def test_message_changelist_runs_no_unbounded_count(admin_client, shop):
    _grow(shop, 3)
    for query in ({}, {"sender__exact": Sender.BUYER}, {"q": "nobody"}):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(MESSAGE_CHANGELIST, query).status_code == 200
        counts = [q["sql"] for q in ctx.captured_queries if re.search(r"COUNT\(", q["sql"], re.IGNORECASE)]
        assert counts, query  # the paginator still counts: within a LIMIT subquery
        for sql in counts:
            assert re.search(r'FROM \(SELECT .* FROM "chats_message".* LIMIT \d+\) subquery', sql), sql


def test_conversation_changelist_shop_staff_sees_only_their_shop(shop_staff_admin_client, shop, other_shop):
    own = ConversationFactory(shop=shop)
    foreign = ConversationFactory(shop=other_shop)
    foreign_message = MessageFactory(conversation=foreign)
    client = shop_staff_admin_client(shop, "view_conversation", "change_conversation", "view_message")
    _, rows = _changelist(client, CONVERSATION_CHANGELIST)
    assert rows == [own]
    _, messages = _changelist(client, MESSAGE_CHANGELIST)
    assert messages == []
    for url in (
        reverse("admin:chats_conversation_change", args=[foreign.pk]),
        reverse("admin:chats_message_change", args=[foreign_message.pk]),
    ):
        response = client.get(url, follow=True)
        assert response.redirect_chain[0][1] == 302, url
        assert "doesn’t exist" in str(list(response.context["messages"])[0]), url


def test_conversation_admin_agent_autocomplete_is_scoped(shop_staff_admin_client, shop, other_shop):
    own = AgentFactory(shop=shop)
    AgentFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_conversation", "view_agent")
    response = client.get(
        reverse("admin:autocomplete"), {"app_label": "chats", "model_name": "conversation", "field_name": "agent"}
    )
    ids = {int(item["id"]) for item in response.json()["results"]}
    assert own.pk in ids
    assert ids <= set(shop.agents.values_list("pk", flat=True))


def test_conversation_admin_transcript_is_read_only_ordered_and_capped(admin_client, shop, monkeypatch):
    monkeypatch.setattr(TranscriptInline, "row_limit", 3)
    conversation = ConversationFactory(shop=shop)
    start = timezone.now()
    # Created out of order: the transcript follows sent_at, not the primary key.
    for minutes in (4, 1, 3, 0, 2):
        MessageFactory(conversation=conversation, body=f"minute {minutes}", sent_at=start + timedelta(minutes=minutes))
    response = admin_client.get(reverse("admin:chats_conversation_change", args=[conversation.pk]))
    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert [form.instance.body for form in inline.formset.forms] == ["minute 0", "minute 1", "minute 2"]
    assert inline.has_add_permission is False
    assert inline.has_change_permission is False
    assert inline.has_delete_permission is False


def test_conversation_admin_service_state_is_read_only(admin_client, shop):
    agent = AgentFactory(shop=shop)
    conversation = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    MessageFactory(conversation=conversation)
    url = reverse("admin:chats_conversation_change", args=[conversation.pk])
    form = admin_client.get(url).context["adminform"].form
    assert {"status", "agent", "group", "shop", "buyer", "ended_at"}.isdisjoint(form.fields)

    other_agent = AgentFactory(shop=shop)
    data = {
        "entry_point": "item",
        "entry_ref": "item-42",
        "phase": "after_sales",
        "status": ConversationStatus.ENDED,
        "agent": other_agent.pk,
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
    }
    assert admin_client.post(url, data).status_code == 302
    conversation.refresh_from_db()
    assert (conversation.entry_ref, conversation.phase) == ("item-42", "after_sales")
    assert (conversation.status, conversation.agent) == (ConversationStatus.HUMAN, agent)
    assert conversation.messages.count() == 1


def test_conversation_admin_cannot_add(admin_client):
    assert admin_client.get(reverse("admin:chats_conversation_add")).status_code == 403


def test_message_admin_is_view_only(admin_client, shop):
    message = MessageFactory(conversation=ConversationFactory(shop=shop), body="hello")
    url = reverse("admin:chats_message_change", args=[message.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert admin_client.post(url, {"body": "edited"}).status_code == 403
    assert admin_client.get(reverse("admin:chats_message_add")).status_code == 403
    assert admin_client.get(reverse("admin:chats_message_delete", args=[message.pk])).status_code == 403
    message.refresh_from_db()
    assert message.body == "hello"


def test_message_changelist_filters_by_conversation_link(admin_client, shop):
    conversation = ConversationFactory(shop=shop)
    mine = MessageFactory(conversation=conversation)
    MessageFactory(conversation=ConversationFactory(shop=shop))
    _, rows = _changelist(admin_client, f"{MESSAGE_CHANGELIST}?conversation__id__exact={conversation.pk}")
    assert rows == [mine]
    page = admin_client.get(reverse("admin:chats_conversation_change", args=[conversation.pk])).content.decode()
    assert f"?conversation__id__exact={conversation.pk}" in page


def test_conversation_search_by_buyer_nick_and_id(admin_client, shop):
    conversation = ConversationFactory(shop=shop)
    ConversationFactory(shop=shop)
    for term in (conversation.buyer.nick, f"#{conversation.pk}"):
        _, rows = _changelist(admin_client, f"{CONVERSATION_CHANGELIST}?q={term.replace('#', '%23')}")
        assert rows == [conversation], term
    assert Conversation.objects.count() == 2


@pytest.mark.parametrize("caller", ["platform", "shop_staff"])
def test_chat_history_cannot_be_deleted_in_the_admin(admin_client, shop_staff_admin_client, shop, caller):
    codenames = ("view_conversation", "delete_conversation", "view_message", "delete_message")
    client = admin_client if caller == "platform" else shop_staff_admin_client(shop, *codenames)
    conversation = ConversationFactory(shop=shop)
    message = MessageFactory(conversation=conversation)
    for model, obj in (("conversation", conversation), ("message", message)):
        assert client.get(reverse(f"admin:chats_{model}_delete", args=[obj.pk])).status_code == 403, model
        assert client.post(reverse(f"admin:chats_{model}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        changelist = reverse(f"admin:chats_{model}_changelist")
        action_form = client.get(changelist).context["action_form"]
        actions = [name for name, _ in action_form.fields["action"].choices] if action_form else []
        assert "delete_selected" not in actions, model
        client.post(changelist, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert Message.objects.filter(pk=message.pk).exists()
    page = client.get(reverse("admin:chats_conversation_change", args=[conversation.pk]))
    assert page.context["has_delete_permission"] is False

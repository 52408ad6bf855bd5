"""The chat lifecycle of DESIGN.md: the transfer-to-human entry's rollout, closing and idle ends."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from backoffice.errors import Conflict
from chats import services
from chats.choices import ClosedBy, EventKind, Sender
from chats.models import Conversation, ServiceEvent
from shops.models import RolloutConfig
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
from tests.chats.helpers import active, start

pytestmark = pytest.mark.django_db


# --- Transfer-to-human entry: rollout -----------------------------------------------------------------------------


def test_entry_needs_the_bots_first_reply(shop):
    shop.bot_enabled = False
    shop.save()
    conversation = start(shop)
    assert conversation.transfer_entry_visible is False
    with pytest.raises(Conflict):
        services.transfer_to_human(conversation_id=conversation.pk)


def test_entry_exposure_percentage_is_a_stable_growing_bucket(shop):
    from shops.selectors import rollout_buyer_exposed

    config = RolloutConfig.current()
    exposed = {}
    for percent in (5, 10, 50, 100):
        config.exposure_percent = percent
        exposed[percent] = {b for b in range(4000) if rollout_buyer_exposed(buyer_id=b, config=config)}
    assert exposed[5] <= exposed[10] <= exposed[50] <= exposed[100] == set(range(4000))
    assert 0.03 < len(exposed[5]) / 4000 < 0.07  # about 5% of buyers
    assert 0.45 < len(exposed[50]) / 4000 < 0.55
    config.exposure_percent = 10
    assert all(rollout_buyer_exposed(buyer_id=b, config=config) for b in exposed[10])  # same answer again
    config.salt = "another-salt"
    assert {b for b in range(4000) if rollout_buyer_exposed(buyer_id=b, config=config)} != exposed[10]


def test_unexposed_buyer_gets_no_entry_but_is_recorded_for_comparison(shop):
    config = RolloutConfig.current()
    config.exposure_percent = 0
    config.save()
    conversation = start(shop)
    assert (conversation.transfer_entry_visible, conversation.buyer_exposed) == (False, False)
    config.exposure_percent = 100
    config.save()
    assert start(shop).transfer_entry_visible is True


def test_entry_waits_for_the_tiers_start_date(shop, monkeypatch):
    today = timezone.localdate()
    config = RolloutConfig.current()
    config.small_tier_start, config.large_tier_start = today + timedelta(days=1), today
    config.save()
    assert start(shop).transfer_entry_visible is False  # a small shop: its tier starts tomorrow
    # Make "large" mean 2+ chats a day, then give the shop 60 chats in the last 30 days (2 a day).
    monkeypatch.setattr(RolloutConfig, "TIER_THRESHOLD", 2)
    yesterday = timezone.now() - timedelta(days=1)
    ConversationFactory.create_batch(60, shop=shop, started_at=yesterday)
    assert start(shop).transfer_entry_visible is True  # a large shop: its tier started today


def test_default_rollout_is_the_finished_one():
    config = RolloutConfig.current()
    assert (config.small_tier_start, config.large_tier_start, config.exposure_percent) == (
        date(2022, 8, 30),
        date(2022, 9, 30),
        100,
    )


# --- Closing -------------------------------------------------------------------------------------------------------


def test_close_is_idempotent_and_frees_the_seat(shop):
    agent = AgentFactory(shop=shop)
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    closed = services.conversation_close(conversation_id=conversation.pk, closed_by=ClosedBy.BUYER)
    again = services.conversation_close(conversation_id=conversation.pk, closed_by=ClosedBy.AGENT)
    assert (closed.status, closed.closed_by, again.closed_by, again.ended_at) == (
        "ended",
        "buyer",
        "buyer",
        closed.ended_at,
    )
    assert active(agent) == 0
    assert ServiceEvent.objects.filter(conversation=conversation, kind=EventKind.CLOSED).count() == 1
    with pytest.raises(Conflict):
        services.message_create(conversation=conversation, sender=Sender.BUYER, body="还在吗")


def test_idle_chats_end_after_their_shops_timeout(shop, other_shop):
    agent = AgentFactory(shop=shop)
    now = timezone.now()
    shop.idle_close_minutes, other_shop.idle_close_minutes = 10, 60
    shop.save()
    other_shop.save()
    idle = start(shop)
    services.transfer_to_human(conversation_id=idle.pk)
    fresh, slow_shop = start(shop), start(other_shop)
    Conversation.objects.filter(pk__in=[idle.pk, slow_shop.pk]).update(last_message_at=now - timedelta(minutes=11))
    Conversation.objects.filter(pk=fresh.pk).update(last_message_at=now - timedelta(minutes=9))
    assert services.conversations_close_idle(now=now) == 1
    assert services.conversations_close_idle(now=now) == 0
    statuses = dict(Conversation.objects.values_list("pk", "status"))
    assert (statuses[idle.pk], statuses[fresh.pk], statuses[slow_shop.pk]) == ("ended", "bot", "bot")
    assert Conversation.objects.get(pk=idle.pk).closed_by == ClosedBy.IDLE
    assert active(agent) == 0

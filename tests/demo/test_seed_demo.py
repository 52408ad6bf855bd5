from io import StringIO

from django.core.management import call_command

from agents.models import Agent
from chats.choices import ConversationStatus
from chats.models import Conversation, Message
from demo.content import DEMO_SHOP_NAMES
from shops.models import Buyer, Shop
from shops.selectors import buyer_service_phase


def seed(*args: str) -> str:
    out = StringIO()
    # A fixed moment: the data is laid out relative to "now", so one seed gives one data set only for one moment.
    now = "2026-11-11T20:00:00+08:00"
    call_command("seed_demo", "--conversations", "150", "--buyers", "60", "--now", now, *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Conversation.objects.order_by("pk").values_list("buyer__nick", "phase", "status", "agent__user__username")
    ) + list(Message.objects.order_by("pk").values_list("sender", "body"))


def test_seed_demo_builds_consistent_shops_staff_and_chats(db):
    output = seed()

    assert "[15/15] daily metrics" in output
    assert "assistant replies" in output
    assert "mianyu_owner" in output
    assert set(Shop.objects.values_list("name", flat=True)) == set(DEMO_SHOP_NAMES)
    assert Agent.objects.count() == 20
    conversations = list(Conversation.objects.select_related("shop"))
    assert len(conversations) == 150
    for conversation in conversations:
        expected = buyer_service_phase(
            shop=conversation.shop, buyer_id=conversation.buyer_id, at=conversation.started_at
        )
        assert conversation.phase == expected
        assert conversation.messages.exists()
    assert {c.status for c in conversations} >= {ConversationStatus.ENDED, ConversationStatus.HUMAN}
    for agent in Agent.objects.all():
        open_chats = Conversation.objects.filter(agent=agent, status=ConversationStatus.HUMAN).count()
        assert agent.active_chats == open_chats <= agent.capacity


def test_seed_demo_twice_adds_nothing_and_reset_rebuilds_the_same_data(db):
    seed("--seed", "7")
    before = snapshot()

    assert "already present" in seed("--seed", "7")
    assert Conversation.objects.count() == 150

    seed("--seed", "7", "--reset")
    assert snapshot() == before
    assert Shop.objects.count() == 3
    assert Buyer.objects.count() == 60


def test_seed_demo_fills_the_workbench(db):
    from datetime import datetime

    from agents.models import AutoReplyRule, QuickPhrase
    from chats.models import FollowUpTask
    from chats.services import task_reminders_deliver

    output = seed()
    assert "workbench" in output
    for shop in Shop.objects.all():
        assert QuickPhrase.objects.filter(shop=shop, scope="team").count() == 8
        assert QuickPhrase.objects.filter(shop=shop, scope="personal").exclude(owner__shop=shop).count() == 0
        assert set(AutoReplyRule.objects.filter(shop=shop, enabled=True).values_list("trigger", flat=True)) == {
            "agent_busy",
            "agent_away",
            "over_capacity",
        }
        assert FollowUpTask.objects.filter(shop=shop).count() == 8
    # Three overdue open tasks per shop are reminded by the first beat run, and only those.
    assert task_reminders_deliver(now=datetime.fromisoformat("2026-11-11T20:00:00+08:00")) == 9


def test_seed_demo_rates_chats_and_rolls_up_thirty_days_of_metrics(db):
    from datetime import timedelta

    from demo.ratings import INVITE_CARD
    from evaluations.choices import InviteStatus
    from evaluations.models import DailyMetric, Evaluation, InviteDecision, RatingInvite

    output = seed()
    assert "ratings" in output
    ended_human = Conversation.objects.filter(status=ConversationStatus.ENDED, agent__isnull=False)
    assert InviteDecision.objects.count() == ended_human.count()
    invites = RatingInvite.objects.select_related("conversation")
    assert invites.filter(status=InviteStatus.ANSWERED).count() == Evaluation.objects.count() > 0
    for invite in invites:
        assert invite.sent_at == invite.conversation.ended_at
        assert invite.agent_id == invite.conversation.agent_id
        if invite.answered_at is not None:
            assert invite.answered_at - invite.sent_at < timedelta(hours=24)
    assert Message.objects.filter(sender="system", body=INVITE_CARD).count() == invites.count()
    for shop in Shop.objects.all():
        days = DailyMetric.objects.filter(shop=shop, scope="shop")
        assert 20 <= days.count() <= 30
        assert (
            days.exclude(satisfaction_rate=None).exists()
            or not Evaluation.objects.filter(conversation__shop=shop).exists()
        )


def test_seed_demo_writes_every_message_through_the_writer_and_stores_its_turns(db, monkeypatch):
    import sys

    import demo.seeder  # noqa: F401 -- loaded before the patch, so it cannot bind the spy for good
    from chats.lifecycle import messages as writer
    from chats.models import Turn
    from chats.turns import turns_out_of_sync
    from demo.ratings import INVITE_CARD

    real = writer.messages_bulk_write
    calls = []

    def spy(**kwargs):
        calls.append(real(**kwargs))
        return calls[-1]

    # Wherever the demo looks the writer up: its own modules' imported names and the writer's module.
    for name, module in list(sys.modules.items()):
        if (name == "demo" or name.startswith("demo.")) and hasattr(module, "messages_bulk_write"):
            monkeypatch.setattr(module, "messages_bulk_write", spy)
    monkeypatch.setattr(writer, "messages_bulk_write", spy)

    output = seed()

    chats_written, cards_written = calls  # the chats' messages, then the rating-invite cards
    # Every stored message came through the writer: nothing else wrote one.
    assert len(chats_written.messages) + len(cards_written.messages) == Message.objects.count()
    assert {m.body for m in cards_written.messages} == {INVITE_CARD}
    assert cards_written.turns == 0  # system cards are outside the turn stream
    assert turns_out_of_sync() == []
    assert Turn.objects.count() == chats_written.turns > 0
    assert f"{len(chats_written.messages):,} messages, {chats_written.turns:,} turns" in output

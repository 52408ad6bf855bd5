from datetime import timedelta

import factory
from django.db import transaction
from django.utils import timezone

from chats.choices import ConversationStatus, EntryPoint, NotificationKind, Sender, TaskKind
from chats.lifecycle.messages import message_write
from chats.models import Conversation, FaqEntry, FollowUpTask, Message, Notification
from shops.choices import ServicePhase


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    buyer = factory.SubFactory("tests.shops.factories.BuyerFactory")
    entry_point = EntryPoint.SHOP
    status = ConversationStatus.BOT
    phase = ServicePhase.PRE_SALES
    started_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = Sender.BUYER
    body = factory.Sequence(lambda n: f"Is this item in stock? ({n})")
    sent_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through the one writer of messages, which keeps the stored turns (``chats.lifecycle.messages``) and emits
        ``message.created`` in the caller's transaction (its own one here, for tests that run outside one)."""
        agent = kwargs.pop("agent", None)
        if agent is not None:
            kwargs["agent_id"] = agent.pk
        with transaction.atomic():
            return message_write(*args, **kwargs)


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    question = factory.Sequence(lambda n: f"什么时候发货？({n})")
    keywords = factory.LazyFunction(lambda: ["发货", "快递"])
    answer = "亲，付款后48小时内发货哦。"


class FollowUpTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUpTask

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    handler = factory.SubFactory("tests.agents.factories.AgentFactory", shop=factory.SelfAttribute("..shop"))
    kind = TaskKind.FOLLOW_UP
    content = factory.Sequence(lambda n: f"Call the buyer back about the refund ({n})")
    remind_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    task = factory.SubFactory(FollowUpTaskFactory)
    shop = factory.SelfAttribute("task.shop")
    recipient = factory.SelfAttribute("task.handler")
    kind = NotificationKind.TASK_DUE
    due_at = factory.SelfAttribute("task.remind_at")

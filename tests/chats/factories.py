import factory
from django.utils import timezone

from chats.choices import ConversationStatus, EntryPoint, Sender
from chats.models import Conversation, FaqEntry, Message
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


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    question = factory.Sequence(lambda n: f"什么时候发货？({n})")
    keywords = factory.LazyFunction(lambda: ["发货", "快递"])
    answer = "亲，付款后48小时内发货哦。"

"""The service assistant of DESIGN.md: greeting, FAQ answers, shop texts, and the phishing guard on links."""

import pytest

from chats import services
from chats.choices import ConversationStatus, Sender
from tests.chats.factories import FaqEntryFactory
from tests.chats.helpers import bodies, start
from tests.shops.factories import BuyerFactory, OrderFactory

pytestmark = pytest.mark.django_db


# --- The service assistant -------------------------------------------------------------------------------------


def test_bot_greets_first_and_answers_from_the_faq(shop):
    FaqEntryFactory(shop=shop, question="什么时候发货", keywords=["发货", "快递"], answer="48小时内发货")
    FaqEntryFactory(shop=shop, question="可以退货吗", keywords=["退货", "退款"], answer="支持七天无理由退货")
    FaqEntryFactory(shop=shop, question="优惠券", keywords=["退货"], answer="disabled", enabled=False)
    conversation = start(shop)
    assert conversation.status == ConversationStatus.BOT
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="请问我这个能退货退款吗")
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="今天天气怎么样")
    assert bodies(conversation, Sender.BOT) == [
        "Hello, I am the shop's service assistant. How can I help you?",
        "支持七天无理由退货",
        "Sorry, I did not quite understand. You can rephrase your question, or ask for a human agent.",
    ]


def test_shop_texts_replace_the_defaults(shop):
    shop.bot_greeting, shop.bot_fallback_text = "亲，欢迎光临", "亲，没听懂呢"
    shop.save()
    conversation = start(shop)
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="？？？")
    assert bodies(conversation, Sender.BOT) == ["亲，欢迎光临", "亲，没听懂呢"]


def test_matcher_prefers_more_and_longer_keywords(shop):
    from chats.assistant.bot import KeywordMatcher

    short = FaqEntryFactory(shop=shop, question="快递", keywords=["快递"], answer="a")
    longer = FaqEntryFactory(shop=shop, question="快递单号查询", keywords=["快递", "单号"], answer="b")
    assert [m.entry_id for m in KeywordMatcher().rank(shop.pk, "我的快递单号是多少")] == [longer.pk, short.pk]
    assert KeywordMatcher().rank(shop.pk, "快递")[0].entry_id == short.pk
    assert KeywordMatcher().rank(shop.pk, "hello") == []


# --- Message pipeline ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "has_order", "flagged"),
    [
        ("便宜卖 http://cheap-deals.xyz/item?id=1", False, True),
        ("看这个 bit.ly/abc", False, True),
        ("这个链接 https://item.taobao.com/item.htm?id=1 还有货吗", False, False),
        ("https://detail.tmall.com/x 和 https://evil.example.com", False, True),
        ("便宜卖 http://cheap-deals.xyz/item?id=1", True, False),
        ("没有链接，版本号 1.2.3 也不是链接", False, False),
    ],
)
def test_suspicious_links_from_buyers_without_orders(shop, body, has_order, flagged):
    buyer = BuyerFactory()
    if has_order:
        OrderFactory(shop=shop, buyer=buyer)
    conversation = start(shop, buyer=buyer)
    message = services.message_create(conversation=conversation, sender=Sender.BUYER, body=body)
    assert (message.flags == ["suspicious_link"]) is flagged

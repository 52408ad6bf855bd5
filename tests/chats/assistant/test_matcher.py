"""The assistant's Chinese matcher: normalisation, segmentation, synonyms, confidence thresholds, clarification, and
the per-shop index cache (chats.assistant.language, .index, .bot)."""

import pytest
from django.utils import timezone

from chats import services
from chats.assistant import index as index_module
from chats.assistant.bot import assistant_reply
from chats.assistant.index import shop_index
from chats.assistant.language import Vocabulary, asks_for_human, is_small_talk, normalize, tokens
from chats.choices import BotReplyKind, Sender
from chats.models import BotReply, FaqEntry, SynonymGroup
from tests.chats.factories import FaqEntryFactory
from tests.chats.helpers import bodies, start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    index_module.index_cache_clear()
    yield
    index_module.index_cache_clear()


def faq(shop):
    """A small apparel shop's knowledge base, written as shops write it."""
    return {
        "ship": FaqEntryFactory(shop=shop, question="多久发货", keywords=["发货"], answer="付款后48小时内发货"),
        "size": FaqEntryFactory(shop=shop, question="怎么选尺码", keywords=["尺码"], answer="参考尺码表"),
        "fee": FaqEntryFactory(shop=shop, question="包邮吗", keywords=["包邮"], answer="全国包邮"),
        "return": FaqEntryFactory(shop=shop, question="支持七天无理由退换吗", keywords=["退换"], answer="支持"),
        "wash": FaqEntryFactory(shop=shop, question="怎么洗", keywords=["清洗"], answer="冷水手洗"),
    }


# --- Normalisation and segmentation ----------------------------------------------------------------------------------


def test_normalize_folds_width_script_case_and_emoji():
    assert normalize("請問幾天發貨😂？？") == "请问几天发货"
    assert normalize("ＸＬ碼，１６５") == "xl码 165 尺码"  # full width to half; a height asks for a size
    assert normalize("好好好好好") == "好"


def test_small_talk_and_emoticons_ask_nothing():
    for line in ["亲，在吗", "老板在吗", "[表情]", "好的谢谢", "OK", "/:^_^", "嗯嗯", "晚上好呀", "口红是谁发明的"]:
        assert is_small_talk(line), line
    for line in ["在吗 多久发货", "这个[微笑]包邮吗"]:
        assert not is_small_talk(line), line
    assert normalize("这个[微笑]包邮吗") == "这个 包邮吗"


def test_tokens_drop_fillers_and_fold_synonyms():
    assert tokens("亲请问多久发货呀") == ["多久", "发货"]
    assert tokens("邮费怎么算")[:3] == ["运费", "怎么", "算"]  # 邮费 is the platform's synonym of 运费
    assert "快递" in tokens("发的什么物流")
    assert "尺码" in tokens("165 100斤穿多大")  # body measurements ask for a size


def test_a_shops_synonyms_and_terms_are_its_own():
    plain = Vocabulary()
    shop_words = Vocabulary(synonym_groups=[["打底衫", "内搭"]], terms=["羊羔毛"])
    assert shop_words.tokens("内搭")[0] == "打底衫" == shop_words.tokens("打底衫")[0]
    assert "打底衫" not in plain.tokens("内搭")
    assert "羊羔毛" in shop_words.tokens("羊羔毛会掉吗")  # the shop's keyword is kept whole


def test_typed_requests_for_a_human_are_read_from_the_words():
    for line in [
        "转人工",
        "轉人工",
        "人工人工人工",
        "我要人工客服",
        "叫客服出来",
        "机器人听不懂",
        "转人宫",
        "换个人来",
    ]:
        assert asks_for_human(line), line
    for line in [
        "人工草坪多少钱",
        "你们人工费怎么算的",
        "客服说今天发货的",
        "衣服真人上身效果图有吗",
        "这个机器人玩具有货吗",
    ]:
        assert not asks_for_human(line), line


# --- Ranking, thresholds and clarification ---------------------------------------------------------------------------


def test_colloquial_questions_find_their_entry(shop):
    entries = faq(shop)
    index = shop_index(shop.pk)
    cases = {
        "亲今天拍的话啥时候能发出去啊": "ship",
        "请问几天发貨": "ship",
        "160 95斤穿啥码": "size",
        "尺吗怎么选": "size",  # a homophone slip: the pinyin channel still meets 尺码
        "邮费怎么算": "fee",
        "不喜欢可以退吗": "return",
        "能机洗吗": "wash",
    }
    for text, key in cases.items():
        assert index.rank(text)[0].entry_id == entries[key].pk, text


def test_answer_clarify_and_fallback_by_confidence(shop, settings):
    entries = faq(shop)
    shop.refresh_from_db()
    best = shop_index(shop.pk).rank("多久发货")[0]
    assert best.entry_id == entries["ship"].pk and best.score >= settings.ASSISTANT_ANSWER_CONFIDENCE
    reply = assistant_reply(shop=shop, text="多久发货")
    assert (reply.kind, reply.text, reply.entry_id) == (BotReplyKind.ANSWER, "付款后48小时内发货", entries["ship"].pk)
    assert assistant_reply(shop=shop, text="今天天气怎么样").kind == BotReplyKind.FALLBACK
    assert assistant_reply(shop=shop, text="谢谢").kind == BotReplyKind.FALLBACK  # small talk is never looked up
    # Below the answer threshold but above the clarification one: "did you mean" with the top three questions.
    settings.ASSISTANT_ANSWER_CONFIDENCE, settings.ASSISTANT_CLARIFY_CONFIDENCE = 1.01, 0.2
    reply = assistant_reply(shop=shop, text="多久发货")
    assert reply.kind == BotReplyKind.CLARIFICATION
    assert reply.candidates[0] == entries["ship"].pk and len(reply.candidates) <= 3
    assert reply.text.splitlines()[1] == "1. 多久发货"
    settings.ASSISTANT_CLARIFY_CONFIDENCE = 1.01
    assert assistant_reply(shop=shop, text="多久发货").kind == BotReplyKind.FALLBACK


def test_the_buyer_answers_a_clarification_with_its_number(shop, settings):
    entries = faq(shop)
    settings.ASSISTANT_ANSWER_CONFIDENCE, settings.ASSISTANT_CLARIFY_CONFIDENCE = 1.01, 0.05
    conversation = start(shop)
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="发货和包邮")
    clarification = BotReply.objects.get(conversation=conversation)
    assert clarification.kind == BotReplyKind.CLARIFICATION
    second = clarification.candidates[1]
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="2")
    picked = BotReply.objects.filter(conversation=conversation).order_by("-pk").first()
    assert (picked.kind, picked.faq_entry_id) == (BotReplyKind.ANSWER, second)
    assert bodies(conversation, Sender.BOT)[-1] == FaqEntry.objects.get(pk=second).answer
    assert second in {entry.pk for entry in entries.values()}


def test_every_live_answer_is_logged(shop):
    entries = faq(shop)
    conversation = start(shop)
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="多久发货呀")
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="今天天气怎么样")
    rows = list(BotReply.objects.filter(conversation=conversation).order_by("pk"))
    assert [(row.kind, row.faq_entry_id, row.question) for row in rows] == [
        (BotReplyKind.ANSWER, entries["ship"].pk, "多久发货呀"),
        (BotReplyKind.FALLBACK, None, "今天天气怎么样"),
    ]
    assert all(row.buyer_message.sender == Sender.BUYER for row in rows)


def test_the_keyword_matcher_stays_selectable(shop, settings):
    faq(shop)
    settings.BOT_MATCHER = "chats.assistant.bot.KeywordMatcher"
    assert assistant_reply(shop=shop, text="什么时候发货").text == "付款后48小时内发货"
    assert assistant_reply(shop=shop, text="几天能发出").kind == BotReplyKind.FALLBACK  # no keyword in it


# --- The index cache -------------------------------------------------------------------------------------------------


def test_the_index_is_cached_until_the_faq_changes(shop, django_assert_num_queries):
    entries = faq(shop)
    first = shop_index(shop.pk)
    with django_assert_num_queries(1):  # the fingerprint only
        assert shop_index(shop.pk) is first
    services.faq_entry_update(entry=entries["ship"], answer="当天发货")
    rebuilt = shop_index(shop.pk)
    assert rebuilt is not first
    assert rebuilt.rank("多久发货")[0].answer == "当天发货"


@pytest.mark.parametrize("change", ["raw_update", "delete", "disable", "synonyms", "create"])
def test_any_change_seen_from_the_database_rebuilds(shop, change):
    """Another process's edit reaches this one through the rows (the fingerprint), not through a signal."""
    entries = faq(shop)
    first = shop_index(shop.pk)
    if change == "raw_update":
        FaqEntry.objects.filter(pk=entries["ship"].pk).update(answer="x", updated_at=timezone.now())
    elif change == "delete":
        FaqEntry.objects.filter(pk=entries["wash"].pk).delete()
    elif change == "disable":
        services.faq_entry_update(entry=entries["wash"], enabled=False)
    elif change == "synonyms":
        SynonymGroup.objects.create(shop=shop, words=["洗", "打理"])
    else:
        FaqEntryFactory(shop=shop, question="有赠品吗", keywords=["赠品"], answer="送袜子")
    assert shop_index(shop.pk) is not first


def test_a_shop_index_holds_only_its_own_enabled_entries(shop, other_shop):
    mine = faq(shop)
    FaqEntryFactory(shop=other_shop, question="多久发货", keywords=["发货"], answer="其他店")
    FaqEntryFactory(shop=shop, question="有赠品吗", keywords=["赠品"], answer="x", enabled=False)
    index = shop_index(shop.pk)
    assert {entry.id for entry in index.entries} == {entry.pk for entry in mine.values()}


def test_an_items_name_does_not_hide_the_question(shop):
    from tests.shops.factories import FootprintFactory

    entries = faq(shop)
    coupon = FaqEntryFactory(shop=shop, question="有优惠吗", keywords=["优惠"], answer="领券满200减20")
    question = "法式碎花连衣裙现在有优惠吗?"
    without_items = shop_index(shop.pk).rank(question)
    FootprintFactory(shop=shop, item_title="法式碎花连衣裙")
    index_module.index_cache_clear()  # titles reach a cached index at its next rebuild (its maximum age)
    index = shop_index(shop.pk)
    assert "法式碎花连衣裙" in index.item_words
    best = index.rank(question)[0]
    assert best.entry_id == coupon.pk
    assert best.score > (without_items[0].score if without_items else 0)
    assert index.rank("法式碎花连衣裙")  # a text that is only an item's name keeps it
    assert entries["ship"].pk == index.rank("法式碎花连衣裙几天发货")[0].entry_id


def test_a_cached_index_is_rebuilt_after_its_maximum_age(shop, settings):
    faq(shop)
    first = shop_index(shop.pk)
    settings.ASSISTANT_INDEX_MAX_AGE_SECONDS = 0
    assert shop_index(shop.pk) is not first


def test_web_workers_load_the_segmenter_as_they_start(monkeypatch):
    from backoffice import gunicorn
    from chats.assistant import language

    monkeypatch.setattr(language, "_tokenizer", None)  # as in a fresh worker (earlier tests may have loaded it)
    language.implications.cache_clear()
    gunicorn.post_worker_init(worker=None)
    assert language._tokenizer is not None
    assert language.implications.cache_info().currsize == 1

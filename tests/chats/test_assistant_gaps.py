"""Knowledge gaps: fallback questions grouped by their words, in the API and in the admin (with the create flow)."""

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from agents.choices import AgentRole
from chats.assistant.gaps import knowledge_gaps, questions_group
from chats.assistant.language import tokens
from chats.choices import BotReplyKind
from chats.models import BotReply, FaqEntry
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/assistant/gaps/"


def fallback(shop, text, at, *, kind=BotReplyKind.FALLBACK, conversation=None):
    """A logged assistant reply to a buyer message ``text`` sent at ``at``."""
    conversation = conversation or ConversationFactory(shop=shop, started_at=at - timedelta(minutes=1))
    message = MessageFactory(conversation=conversation, body=text, sent_at=at)
    return BotReply.objects.create(
        shop=shop, conversation=conversation, buyer_message=message, kind=kind, question=text, at=at
    )


@pytest.fixture
def asked(shop):
    """Fallbacks of Shop A on 2024-05-06 (Shanghai): three about shipping, two about invoices, chit-chat, one other."""
    conversation = ConversationFactory(shop=shop, started_at=datetime(2024, 5, 6, 0, 0, tzinfo=UTC))
    base = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    texts = [
        "什么时候发货",
        "可以开发票吗",
        "啥时候发货？",
        "你好",
        "什么时候发货",
        "能开发票吗",
        "这个衣服会起球吗",
        "好的谢谢",
    ]
    for minute, text in enumerate(texts):
        fallback(shop, text, base + timedelta(minutes=minute), conversation=conversation)
    # Answered questions are no gap.
    fallback(shop, "什么时候发货", base + timedelta(minutes=30), kind=BotReplyKind.ANSWER, conversation=conversation)
    return conversation


def test_questions_group_greedy_by_word_overlap():
    at = datetime(2024, 5, 6, tzinfo=UTC)
    rows = [
        (text, at + timedelta(minutes=i)) for i, text in enumerate(["什么时候发货", "啥时候发货", "好的谢谢", "发票"])
    ]
    groups = questions_group(rows, tokens=tokens)
    assert [(group.label, group.count) for group in groups] == [("什么时候发货", 2), ("发票", 1)]
    assert groups[0].examples == ["什么时候发货", "啥时候发货"]
    assert "发货" in groups[0].words
    assert groups[0].first_at == at and groups[0].last_at == at + timedelta(minutes=1)


def test_gaps_are_grouped_most_frequent_first(owner_client, shop, asked):
    response = owner_client.get(URL, {"date_from": "2024-05-06", "date_to": "2024-05-06"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3 and body["sampled"] is False
    assert (body["shop"], body["date_from"], body["date_to"]) == (shop.pk, "2024-05-06", "2024-05-06")
    groups = [(group["label"], group["count"]) for group in body["results"]]
    assert groups == [("什么时候发货", 3), ("可以开发票吗", 2), ("这个衣服会起球吗", 1)]
    shipping = body["results"][0]
    assert shipping["examples"] == ["什么时候发货", "啥时候发货？"]
    assert "发货" in shipping["words"]
    assert datetime.fromisoformat(shipping["first_at"]) == datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    assert datetime.fromisoformat(shipping["last_at"]) == datetime(2024, 5, 6, 2, 4, tzinfo=UTC)


def test_gaps_dates_are_shop_local(owner_client, shop):
    shop.timezone = "America/New_York"
    shop.save()
    # 2024-05-06 local in New York is 04:00 UTC on the 6th to 04:00 UTC on the 7th.
    fallback(shop, "有没有红色", datetime(2024, 5, 6, 3, 59, tzinfo=UTC))  # the 5th, local
    fallback(shop, "有没有红色的", datetime(2024, 5, 6, 4, 0, tzinfo=UTC))
    fallback(shop, "红色有没有", datetime(2024, 5, 7, 3, 59, tzinfo=UTC))
    fallback(shop, "有红色吗", datetime(2024, 5, 7, 4, 0, tzinfo=UTC))  # the 7th, local
    gaps = knowledge_gaps(shop=shop, date_from=date(2024, 5, 6), date_to=date(2024, 5, 6))
    assert sum(group.count for group in gaps.groups) == 2
    response = owner_client.get(URL, {"date_from": "2024-05-05", "date_to": "2024-05-07"})
    assert sum(group["count"] for group in response.json()["results"]) == 4


def test_gaps_default_to_the_last_seven_days(owner_client, shop):
    now = datetime.now(tz=UTC)
    fallback(shop, "有没有红色", now - timedelta(hours=1))
    fallback(shop, "有没有蓝色", now - timedelta(days=10))
    body = owner_client.get(URL).json()
    assert [group["label"] for group in body["results"]] == ["有没有红色"]
    assert date.fromisoformat(body["date_to"]) - date.fromisoformat(body["date_from"]) == timedelta(days=6)


def test_gaps_sample_the_newest_rows_when_capped(shop):
    at = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    conversation = ConversationFactory(shop=shop, started_at=at)
    for minute, text in enumerate(["有没有红色", "有没有红色", "可以开发票吗"]):
        fallback(shop, text, at + timedelta(minutes=minute), conversation=conversation)
    gaps = knowledge_gaps(shop=shop, date_from=date(2024, 5, 6), date_to=date(2024, 5, 6), cap=2)
    assert gaps.sampled is True
    assert [(group.label, group.count) for group in gaps.groups] == [("可以开发票吗", 1), ("有没有红色", 1)]


def test_gaps_roles_and_scoping(shop, other_shop, asked, agent_client, integration_client, staff_client):
    params = {"date_from": "2024-05-06", "date_to": "2024-05-06"}
    assert agent_client.get(URL, params).status_code == 403
    assert integration_client.get(URL, params).status_code == 403
    supervisor = AgentFactory(shop=shop, role=AgentRole.SUPERVISOR)
    assert client_for(supervisor.user).get(URL, params).json()["count"] == 3
    # Another shop's id is refused as the other shop-parameter endpoints refuse it (staffing, peers): 400, no data.
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    response = client_for(owner.user).get(URL, {**params, "shop": other_shop.pk})
    assert response.status_code == 400 and "shop" in response.json()
    # Platform staff name the shop (they reach every shop) and see another shop's gaps only when they ask for them.
    assert staff_client.get(URL, params).status_code == 400
    assert staff_client.get(URL, {**params, "shop": shop.pk}).json()["count"] == 3
    assert staff_client.get(URL, {**params, "shop": other_shop.pk}).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2024-13-01"}, "date_from"),
        ({"date_to": "1999-12-31"}, "date_to"),
        ({"date_from": "2024-05-07", "date_to": "2024-05-06"}, "date_to"),
        ({"shop": "x"}, "shop"),
    ],
)
def test_gaps_bad_input_is_400(owner_client, shop, params, field):
    response = owner_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_gaps_query_count_is_flat(owner, shop, django_assert_num_queries):
    at = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    conversation = ConversationFactory(shop=shop, started_at=at)
    fallback(shop, "什么时候发货", at, conversation=conversation)
    params = {"date_from": "2024-05-06", "date_to": "2024-05-06"}

    def answer(client=None):
        client = client or fresh_client()
        response = client.get(URL, params)
        assert response.status_code == 200
        return response.json()

    def fresh_client():
        return client_for(get_user_model().objects.get(pk=owner.user.pk))  # a fresh user: no cached caller

    answer()  # builds the shop's index (cached while the shop's knowledge is unchanged)
    client = fresh_client()
    # The caller, the shop, the fallback rows, the index fingerprint.
    with django_assert_num_queries(4):
        assert answer(client)["count"] == 1
    for minute in range(1, 40):
        fallback(shop, f"有没有{minute}号色", at + timedelta(minutes=minute), conversation=conversation)
    client = fresh_client()
    with django_assert_num_queries(4):
        assert answer(client)["count"] > 1


# --- admin ------------------------------------------------------------------------------------------------------------


def test_admin_gaps_page_lists_groups_and_prefills_a_faq_entry(admin_client, shop, asked):
    response = admin_client.get(
        reverse("admin:chats_botreply_gaps"), {"shop": shop.pk, "date_from": "2024-05-06", "date_to": "2024-05-06"}
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row["gap"].label, row["gap"].count) for row in rows][:2] == [("什么时候发货", 3), ("可以开发票吗", 2)]
    assert "啥时候发货？" in response.content.decode()

    create_url = rows[0]["create_url"]
    query = parse_qs(urlparse(create_url).query)
    assert query["question"] == ["什么时候发货"] and query["similar_questions"] == ["啥时候发货？"]
    add = admin_client.get(create_url)
    assert add.status_code == 200
    form = add.context["adminform"].form
    assert form.initial["question"] == "什么时候发货"
    assert "啥时候发货？" in form["similar_questions"].value()

    # The manager writes the answer and saves: the entry has the group's questions.
    response = admin_client.post(
        reverse("admin:chats_faqentry_add"),
        {
            "shop": shop.pk,
            "question": "什么时候发货",
            "similar_questions": "啥时候发货？\r\n几天发货",
            "keywords": "发货",
            "answer": "付款后48小时内发货",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = FaqEntry.objects.get(shop=shop)
    assert entry.similar_questions == ["啥时候发货？", "几天发货"]
    assert entry.keywords == ["发货"]


def test_admin_gaps_page_asks_for_a_shop_first(admin_client, shop):
    response = admin_client.get(reverse("admin:chats_botreply_gaps"))
    assert response.status_code == 200
    assert response.context["gaps"] is None


def test_admin_gaps_page_is_for_managers_of_their_shop(shop_staff_admin_client, shop, other_shop, asked):
    url = reverse("admin:chats_botreply_gaps")
    owner = shop_staff_admin_client(shop, "view_botreply", "add_faqentry")
    response = owner.get(url, {"date_from": "2024-05-06", "date_to": "2024-05-06"})  # their only shop by default
    assert response.status_code == 200
    assert response.context["rows"][0]["gap"].count == 3
    assert owner.get(url, {"shop": other_shop.pk}).context["gaps"] is None  # not a choice for them
    agent = shop_staff_admin_client(shop, "view_botreply", role=AgentRole.AGENT)
    assert agent.get(url).status_code == 403
    changelist = owner.get(reverse("admin:chats_botreply_changelist"))
    assert changelist.status_code == 200 and url in changelist.content.decode()


def test_admin_bot_reply_changelist_filters_and_searches(admin_client, shop, asked):
    url = reverse("admin:chats_botreply_changelist")
    assert admin_client.get(url, {"kind": "fallback"}).context["cl"].result_count == 8
    assert admin_client.get(url, {"q": "发票"}).context["cl"].result_count == 2
    assert admin_client.get(url, {"kind": "answer"}).context["cl"].result_count == 1
    reply = BotReply.objects.first()
    assert admin_client.get(reverse("admin:chats_botreply_change", args=[reply.pk])).status_code == 200
    assert admin_client.get(reverse("admin:chats_botreply_add")).status_code == 403


def test_admin_bot_replies_are_seen_by_agents_only_for_their_own_chats(shop):
    """A reply's question is the buyer's message: an agent sees it exactly when they see the chat."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.agents.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_botreply"))
    agent = AgentFactory(shop=shop, user=user, role=AgentRole.AGENT)
    at = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    theirs = ConversationFactory(shop=shop, status="human", agent=agent, started_at=at)
    hidden = ConversationFactory(shop=shop, status="human", agent=AgentFactory(shop=shop), started_at=at)
    fallback(shop, "我的订单什么时候发货", at, conversation=theirs)
    secret = fallback(shop, "秘密问题 我的地址是某某路", at, conversation=hidden)
    client = Client()
    client.force_login(user)
    changelist = client.get(reverse("admin:chats_botreply_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 1
    page = changelist.content.decode()
    assert "我的订单什么时候发货" in page and "秘密问题" not in page
    assert client.get(reverse("admin:chats_botreply_change", args=[secret.pk])).status_code in (302, 404)

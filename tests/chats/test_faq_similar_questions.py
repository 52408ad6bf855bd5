"""FAQ similar questions (相似问法) and the shop's synonym groups, through the API and the admin."""

import pytest
from django.urls import reverse

from chats.models import FaqEntry, SynonymGroup
from tests.chats.factories import FaqEntryFactory

pytestmark = pytest.mark.django_db

FAQ = "/api/v1/faq-entries/"
SYNONYMS = "/api/v1/synonym-groups/"


def test_similar_questions_are_cleaned_through_the_api(owner_client, shop):
    body = {
        "shop": shop.pk,
        "question": "什么时候发货",
        "similar_questions": ["  几天发货 ", "", "几天发货", "什么时候发货", "多久能到"],
        "answer": "48小时内发货",
    }
    response = owner_client.post(FAQ, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["similar_questions"] == ["几天发货", "多久能到"]
    entry_id = response.json()["id"]
    response = owner_client.patch(f"{FAQ}{entry_id}/", {"similar_questions": ["啥时候发"]}, format="json")
    assert response.json()["similar_questions"] == ["啥时候发"]
    assert owner_client.patch(f"{FAQ}{entry_id}/", {"answer": "24小时内"}, format="json").json()[
        "similar_questions"
    ] == ["啥时候发"]
    assert owner_client.get(FAQ, {"q": "啥时候"}).json()["results"][0]["id"] == entry_id


@pytest.mark.parametrize(
    "similar_questions",
    ["几天发货", [f"问法{n}" for n in range(51)], ["长" * 201], [None], [["nested"]]],
    ids=["not-a-list", "too-many", "too-long", "null", "nested"],
)
def test_bad_similar_questions_are_400(owner_client, shop, similar_questions):
    body = {"shop": shop.pk, "question": "发货", "similar_questions": similar_questions, "answer": "a"}
    response = owner_client.post(FAQ, body, format="json")
    assert response.status_code == 400
    assert "similar_questions" in response.json()


def test_admin_edits_similar_questions_one_per_line(admin_client, shop):
    entry = FaqEntryFactory(shop=shop, question="什么时候发货", similar_questions=["几天发货"])
    change = reverse("admin:chats_faqentry_change", args=[entry.pk])
    page = admin_client.get(change)
    assert page.context["adminform"].form["similar_questions"].value() == "几天发货"
    data = {
        "question": "什么时候发货",
        "similar_questions": "几天发货\r\n  多久能到 \r\n\r\n几天发货",
        "keywords": "发货\r\n 快递 \r\n发货",
        "answer": "48小时内发货",
        "enabled": "on",
    }
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry.refresh_from_db()
    assert entry.similar_questions == ["几天发货", "多久能到"]
    assert entry.keywords == ["发货", "快递"]  # one per line, stripped, duplicates dropped
    assert admin_client.get(change).context["adminform"].form["keywords"].value() == "发货\n快递"
    response = admin_client.post(change, {**data, "similar_questions": "\n".join(f"q{n}" for n in range(51))})
    assert response.status_code == 200
    assert "similar_questions" in response.context["adminform"].form.errors

    changelist = admin_client.get(reverse("admin:chats_faqentry_changelist"), {"q": "多久能到"})
    assert list(changelist.context["cl"].result_list) == [entry]
    assert "similar_question_count" in changelist.context["cl"].list_display


def test_synonym_groups_api(owner_client, agent_client, shop, other_shop):
    response = owner_client.post(SYNONYMS, {"shop": shop.pk, "words": [" 打底衫", "内搭", "内搭", ""]}, format="json")
    assert response.status_code == 201, response.content
    group = response.json()
    assert group["words"] == ["打底衫", "内搭"]
    detail = f"{SYNONYMS}{group['id']}/"
    assert agent_client.get(detail).status_code == 200
    assert agent_client.patch(detail, {"words": ["a", "b"]}, format="json").status_code == 403
    assert agent_client.post(SYNONYMS, {"shop": shop.pk, "words": ["a", "b"]}, format="json").status_code == 403
    response = owner_client.patch(detail, {"words": ["打底衫", "内搭", "打底"]}, format="json")
    assert response.json()["words"] == ["打底衫", "内搭", "打底"]
    assert [row["id"] for row in owner_client.get(SYNONYMS, {"q": "打底"}).json()["results"]] == [group["id"]]
    foreign = SynonymGroup.objects.create(shop=other_shop, words=["卫衣", "帽衫"])
    assert owner_client.get(f"{SYNONYMS}{foreign.pk}/").status_code == 404
    assert foreign.pk not in [row["id"] for row in owner_client.get(SYNONYMS).json()["results"]]
    assert owner_client.delete(detail).status_code == 204
    assert not SynonymGroup.objects.filter(pk=group["id"]).exists()


@pytest.mark.parametrize("words", [["内搭"], ["内搭", " 内搭 "], ["内搭", ""], [], "内搭/打底衫"])
def test_synonym_group_needs_two_distinct_words(owner_client, shop, words):
    response = owner_client.post(SYNONYMS, {"shop": shop.pk, "words": words}, format="json")
    assert response.status_code == 400
    assert "words" in response.json()


def test_synonym_groups_change_what_the_assistant_understands(owner_client, shop):
    from chats.assistant.index import shop_index

    FaqEntryFactory(shop=shop, question="打底衫起球吗", keywords=[], answer="不起球")
    before = shop_index(shop.pk).rank("内搭起球吗")
    owner_client.post(SYNONYMS, {"shop": shop.pk, "words": ["打底衫", "内搭"]}, format="json")
    after = shop_index(shop.pk).rank("内搭起球吗")
    assert after and (not before or after[0].score > before[0].score)


def test_admin_synonym_groups(admin_client, shop, shop_staff_admin_client, other_shop):
    add = reverse("admin:chats_synonymgroup_add")
    response = admin_client.post(add, {"shop": shop.pk, "words": "打底衫 / 内搭\n打底"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    group = SynonymGroup.objects.get(shop=shop)
    assert group.words == ["打底衫", "内搭", "打底"]
    response = admin_client.post(add, {"shop": shop.pk, "words": "内搭 / 内搭"})
    assert response.status_code == 200 and "words" in response.context["adminform"].form.errors
    change = admin_client.get(reverse("admin:chats_synonymgroup_change", args=[group.pk]))
    assert change.context["adminform"].form["words"].value() == "打底衫\n内搭\n打底"
    changelist = reverse("admin:chats_synonymgroup_changelist")
    assert list(admin_client.get(changelist, {"q": "内搭"}).context["cl"].result_list) == [group]
    assert admin_client.get(changelist, {"shop__id__exact": shop.pk}).context["cl"].result_count == 1
    SynonymGroup.objects.create(shop=other_shop, words=["卫衣", "帽衫"])
    staff = shop_staff_admin_client(shop, "view_synonymgroup")
    assert [row.pk for row in staff.get(changelist).context["cl"].result_list] == [group.pk]


def test_faq_entry_api_roles(agent_client, shop):
    entry = FaqEntryFactory(shop=shop, similar_questions=["几天发货"])
    assert agent_client.get(f"{FAQ}{entry.pk}/").json()["similar_questions"] == ["几天发货"]
    response = agent_client.patch(f"{FAQ}{entry.pk}/", {"similar_questions": []}, format="json")
    assert response.status_code == 403
    assert FaqEntry.objects.get(pk=entry.pk).similar_questions == ["几天发货"]


def test_the_services_hold_the_limits_whoever_calls_them(shop):
    from django.core.exceptions import ValidationError

    from chats import services

    with pytest.raises(ValidationError) as raised:
        services.faq_entry_create(shop=shop, question="q", answer="a", keywords=[f"k{n}" for n in range(51)])
    assert "keywords" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        services.faq_entry_create(shop=shop, question="q", answer="a", similar_questions=["长" * 201])
    assert "similar_questions" in raised.value.message_dict
    assert not FaqEntry.objects.filter(shop=shop).exists()

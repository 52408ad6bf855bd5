"""Rating invites (DESIGN.md, evaluations): random system invites, 24-hour validity, answers, retired channel."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.errors import Conflict, Gone
from chats import services as chat_services
from chats.choices import ClosedBy, Sender
from chats.models import Message
from evaluations import services
from evaluations.choices import InviteChannel, InviteStatus
from evaluations.models import Evaluation, InviteDecision, RatingInvite
from evaluations.random_source import use_random_source
from evaluations.tasks import rating_invite_decide_task, rating_invites_expire_overdue_task
from tests.agents.factories import AgentFactory
from tests.conftest import client_for
from tests.evaluations.factories import EndedConversationFactory, EvaluationFactory, RatingInviteFactory
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db


class Fixed(random.Random):
    """A random source that always draws the same number."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def _served_chat(shop):
    agent = AgentFactory(shop=shop)
    chat = chat_services.conversation_start(shop=shop, buyer=BuyerFactory())
    chat_services.transfer_to_human(conversation_id=chat.pk)
    return chat, agent


def _close(chat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        chat_services.conversation_close(conversation_id=chat.pk, closed_by=ClosedBy.BUYER)


@pytest.mark.parametrize(("probability", "draw", "sent"), [("1", 0.999, True), ("0", 0.0, False), ("0.3", 0.3, False)])
def test_invite_follows_the_shops_probability(shop, django_capture_on_commit_callbacks, probability, draw, sent):
    shop.invite_probability = Decimal(probability)
    shop.save()
    chat, agent = _served_chat(shop)
    with use_random_source(Fixed(draw)):
        _close(chat, django_capture_on_commit_callbacks)
    invites = list(RatingInvite.objects.filter(conversation=chat))
    assert len(invites) == int(sent)
    assert InviteDecision.objects.get(conversation=chat).send is sent
    if sent:
        invite = invites[0]
        assert (invite.channel, invite.status, invite.agent_id) == ("system", "pending", agent.pk)
        assert invite.expires_at - invite.sent_at == timedelta(hours=24)
        card = Message.objects.get(conversation=chat, flags=["rating_invite"])
        assert card.sender == Sender.SYSTEM


def test_half_the_chats_get_an_invite_at_probability_one_half(shop):
    shop.invite_probability = Decimal("0.5")
    shop.save()
    chats = EndedConversationFactory.create_batch(1000, shop=shop)
    with use_random_source(random.Random(20261122)):
        sent = sum(services.rating_invite_decide(conversation_id=c.pk) is not None for c in chats)
    # Binomial(1000, 0.5): mean 500, standard deviation 15.8; three deviations either side.
    assert 453 <= sent <= 547
    assert RatingInvite.objects.count() == sent
    assert InviteDecision.objects.filter(send=True).count() == sent


def test_closing_twice_and_duplicate_tasks_send_one_invite(shop, django_capture_on_commit_callbacks):
    shop.invite_probability = Decimal("1")
    shop.save()
    chat, _agent = _served_chat(shop)
    with use_random_source(Fixed(0.0)):
        _close(chat, django_capture_on_commit_callbacks)
        _close(chat, django_capture_on_commit_callbacks)  # a second close enqueues nothing new
        first = rating_invite_decide_task.delay(chat.pk).get()
        again = rating_invite_decide_task.delay(chat.pk).get()  # a redelivered message
    assert first == again == RatingInvite.objects.get(conversation=chat).pk
    assert Message.objects.filter(conversation=chat, flags=["rating_invite"]).count() == 1


def test_a_retry_does_not_draw_again(shop):
    shop.invite_probability = Decimal("0.5")
    shop.save()
    chat = EndedConversationFactory(shop=shop)
    with use_random_source(Fixed(0.9)):
        assert services.rating_invite_decide(conversation_id=chat.pk) is None
    with use_random_source(Fixed(0.1)):  # would send, but the draw was made
        assert services.rating_invite_decide(conversation_id=chat.pk) is None
    assert not RatingInvite.objects.exists()


def test_no_invite_for_an_open_chat(shop):
    chat, _agent = _served_chat(shop)
    assert services.rating_invite_decide(conversation_id=chat.pk) is None
    assert not InviteDecision.objects.exists()


@pytest.mark.parametrize(
    ("after", "accepted"),
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False), (timedelta(hours=24), False)],
)
def test_answers_within_24_hours_only(after, accepted):
    invite = RatingInviteFactory(sent_at=timezone.now() - timedelta(days=3))
    answer_at = invite.sent_at + after
    if accepted:
        evaluation = services.evaluation_submit(invite=invite, score=4, now=answer_at)
        assert (evaluation.channel, evaluation.score, evaluation.satisfied) == ("system", 4, True)
        invite.refresh_from_db()
        assert (invite.status, invite.answered_at) == ("answered", answer_at)
    else:
        with pytest.raises(Gone):
            services.evaluation_submit(invite=invite, score=4, now=answer_at)
        # Refused although the sweep has not marked it yet; the sweep then does.
        assert RatingInvite.objects.get(pk=invite.pk).status == InviteStatus.PENDING
        assert not Evaluation.objects.exists()
        assert services.rating_invites_expire_overdue(now=answer_at) == 1


def test_expiry_sweep_is_bulk_and_idempotent():
    now = timezone.now()
    overdue = RatingInviteFactory.create_batch(3, sent_at=now - timedelta(hours=25))
    fresh = RatingInviteFactory(sent_at=now - timedelta(hours=1))
    answered = RatingInviteFactory(sent_at=now - timedelta(hours=30), status=InviteStatus.ANSWERED)
    assert rating_invites_expire_overdue_task.delay().get() == 3
    assert rating_invites_expire_overdue_task.delay().get() == 0
    statuses = dict(RatingInvite.objects.values_list("pk", "status"))
    assert [statuses[i.pk] for i in overdue] == ["expired"] * 3
    assert (statuses[fresh.pk], statuses[answered.pk]) == ("pending", "answered")


def test_an_invite_is_answered_once():
    invite = RatingInviteFactory()
    services.evaluation_submit(invite=invite, score=5)
    with pytest.raises(Conflict):
        services.evaluation_submit(invite=invite, score=1)
    assert list(Evaluation.objects.values_list("score", flat=True)) == [5]


def test_self_rating_of_an_ended_chat_once(shop):
    chat, _agent = _served_chat(shop)
    with pytest.raises(Conflict):
        services.evaluation_submit(conversation=chat, score=5)  # still open
    chat_services.conversation_close(conversation_id=chat.pk, closed_by=ClosedBy.AGENT)
    evaluation = services.evaluation_submit(conversation=chat, score=2, tags=["慢", " 慢 ", ""], comment="回复太慢")
    assert (evaluation.channel, evaluation.tags, evaluation.satisfied) == ("self", ["慢"], False)
    with pytest.raises(Conflict):
        services.evaluation_submit(conversation=chat, score=5)


def test_self_rating_is_accepted_for_24_hours_after_the_chat_ends(shop):
    ended = EndedConversationFactory(shop=shop)
    with pytest.raises(Gone):
        services.evaluation_submit(conversation=ended, score=5, now=ended.ended_at + timedelta(hours=24))
    evaluation = services.evaluation_submit(
        conversation=ended, score=5, now=ended.ended_at + timedelta(hours=23, minutes=59)
    )
    assert evaluation.channel == "self"


# --- API -------------------------------------------------------------------------------------------------------


def test_buyer_answers_over_the_api(shop, integration_client):
    invite = RatingInviteFactory(conversation=EndedConversationFactory(shop=shop))
    body = {"invite": invite.pk, "score": 5, "tags": ["专业", "耐心"], "comment": "很满意"}
    response = integration_client.post("/api/v1/evaluations/", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["channel"], response.json()["score"]) == ("system", 5)
    again = integration_client.post("/api/v1/evaluations/", body, format="json")
    assert again.status_code == 409
    listed = integration_client.get("/api/v1/evaluation-invites/", {"shop": shop.pk, "status": "answered"})
    assert [row["id"] for row in listed.json()["results"]] == [invite.pk]


def test_expired_invite_is_410_over_the_api(shop, integration_client):
    invite = RatingInviteFactory(
        conversation=EndedConversationFactory(shop=shop), sent_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    response = integration_client.post("/api/v1/evaluations/", {"invite": invite.pk, "score": 4}, format="json")
    assert response.status_code == 410
    assert "24 hours" in response.json()["detail"]


@pytest.mark.parametrize("score", [0, 6, "five", 4.5, None, -1])
def test_bad_scores_are_400(shop, integration_client, score):
    invite = RatingInviteFactory(conversation=EndedConversationFactory(shop=shop))
    response = integration_client.post("/api/v1/evaluations/", {"invite": invite.pk, "score": score}, format="json")
    assert response.status_code == 400
    assert "score" in response.json()
    assert RatingInvite.objects.get(pk=invite.pk).status == "pending"


def test_buyers_own_rating_over_the_api_has_no_invite(shop, integration_client):
    ended = EndedConversationFactory(shop=shop)
    response = integration_client.post(
        "/api/v1/evaluations/", {"invite": None, "conversation": ended.pk, "score": 3}, format="json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["invite"], response.json()["channel"]) == (None, "self")


def test_invite_and_conversation_together_or_neither_are_400(shop, integration_client):
    invite = RatingInviteFactory(conversation=EndedConversationFactory(shop=shop))
    both = {"invite": invite.pk, "conversation": invite.conversation_id, "score": 5}
    assert integration_client.post("/api/v1/evaluations/", both, format="json").status_code == 400
    assert integration_client.post("/api/v1/evaluations/", {"score": 5}, format="json").status_code == 400
    only_null = integration_client.post("/api/v1/evaluations/", {"invite": None, "score": 5}, format="json")
    assert only_null.status_code == 400


def test_another_shops_invite_is_hidden(shop, other_shop, integration_client):
    foreign = RatingInviteFactory(conversation=EndedConversationFactory(shop=other_shop))
    assert integration_client.get(f"/api/v1/evaluation-invites/{foreign.pk}/").status_code == 404
    response = integration_client.post("/api/v1/evaluations/", {"invite": foreign.pk, "score": 5}, format="json")
    assert response.status_code == 400
    assert "invite" in response.json()


def test_agent_channel_is_retired(shop, agent):
    chat = EndedConversationFactory(shop=shop, agent=agent)
    client = client_for(agent.user)
    response = client.post(f"/api/v1/conversations/{chat.pk}/invites/", {"channel": "agent"}, format="json")
    assert response.status_code == 400
    assert "retired on 2023-03-29" in response.json()["channel"][0]
    system = client.post(f"/api/v1/conversations/{chat.pk}/invites/", {"channel": "system"}, format="json")
    assert system.status_code == 400  # agents cannot trigger the system's invites
    assert not RatingInvite.objects.exists()


def test_agent_channel_before_its_retirement(shop, agent, settings):
    settings.AGENT_INVITE_RETIRED_ON = timezone.localdate() + timedelta(days=1)
    chat = EndedConversationFactory(shop=shop, agent=agent)
    response = client_for(agent.user).post(f"/api/v1/conversations/{chat.pk}/invites/", {"channel": "agent"})
    assert response.status_code == 201
    assert (response.json()["channel"], response.json()["agent"]) == (InviteChannel.AGENT, agent.pk)


def test_admin_shows_satisfaction_of_the_filtered_ratings(admin_client, shop):
    for score in (5, 4, 2):
        EvaluationFactory(conversation=EndedConversationFactory(shop=shop), score=score)
    page = admin_client.get(reverse("admin:evaluations_evaluation_changelist")).content.decode()
    assert "Satisfaction of the ratings shown: 66.7% (2 satisfied of 3" in page
    low = admin_client.get(reverse("admin:evaluations_evaluation_changelist"), {"score": 2}).content.decode()
    assert "Satisfaction of the ratings shown: 0.0% (0 satisfied of 1" in low

from agents.models import Agent
from agents.tasks import agent_recount_active_chats_task
from chats.choices import ConversationStatus
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory


def test_agent_recount_active_chats_task_fixes_counters_and_is_idempotent(shop, agent, other_shop):
    ConversationFactory.create_batch(2, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.QUEUED)
    elsewhere = AgentFactory(shop=other_shop)
    Agent.objects.filter(pk__in=[agent.pk, elsewhere.pk]).update(active_chats=9)

    for _ in range(2):
        agent_recount_active_chats_task.delay(shop_ids=[shop.pk])
        agent.refresh_from_db()
        elsewhere.refresh_from_db()
        assert agent.active_chats == 2
        assert elsewhere.active_chats == 9  # another shop's counter is left alone


def test_agent_recount_active_chats_task_without_ids_covers_every_shop(agent, other_shop):
    AgentFactory(shop=other_shop)
    Agent.objects.update(active_chats=3)

    assert agent_recount_active_chats_task() == 2
    assert agent_recount_active_chats_task() == 2
    assert set(Agent.objects.values_list("active_chats", flat=True)) == {0}

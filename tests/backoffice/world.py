"""Two shops with one object of every kind each: the fixture world the tenancy and input tests walk."""

from dataclasses import dataclass, field

from django.core.files.base import ContentFile

from agents.choices import AgentRole
from chats.choices import BotReplyKind, ConversationStatus, EventKind, ExportFormat, ExportKind, ExportStatus
from chats.models import AutoReplyDelivery, BotReply, Export, ServiceEvent, SynonymGroup
from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from events.choices import EventType
from events.feed import events_sequence
from events.models import Event, FeedCursor, WebhookDelivery, WebhookSubscription
from events.webhooks.signing import secret_new
from shops.models import RolloutConfig
from tests.agents.factories import AgentFactory, AutoReplyRuleFactory, QuickPhraseFactory, RoutingGroupFactory
from tests.chats.factories import (
    ConversationFactory,
    FaqEntryFactory,
    FollowUpTaskFactory,
    MessageFactory,
    NotificationFactory,
)
from tests.evaluations.factories import (
    EndedConversationFactory,
    EvaluationFactory,
    InviteDecisionFactory,
    RatingInviteFactory,
)
from tests.shops.factories import (
    AfterSalesEventFactory,
    BuyerFactory,
    FootprintFactory,
    IntegrationClientFactory,
    OrderFactory,
    ShopFactory,
)


@dataclass
class ShopWorld:
    shop: object
    owner: object
    agent: object
    group: object
    buyer: object
    order: object
    footprint: object
    event: object
    conversation: object
    message: object
    integration: object
    objects: dict = field(default_factory=dict)
    ended: object = None


def build_shop_world(name: str) -> ShopWorld:
    shop = ShopFactory(name=name)
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    agent = AgentFactory(shop=shop)
    group = RoutingGroupFactory(shop=shop, members=[agent])
    buyer = BuyerFactory()
    order = OrderFactory(shop=shop, buyer=buyer)
    conversation = ConversationFactory(shop=shop, buyer=buyer, status=ConversationStatus.HUMAN, agent=agent)
    world = ShopWorld(
        shop=shop,
        owner=owner,
        agent=agent,
        group=group,
        buyer=buyer,
        order=order,
        footprint=FootprintFactory(shop=shop, buyer=buyer),
        event=AfterSalesEventFactory(shop=shop, buyer=buyer),
        conversation=conversation,
        message=MessageFactory(conversation=conversation),
        integration=IntegrationClientFactory(shops=[shop]),
    )
    # Route basename -> the object of this shop its detail routes address.
    world.objects = {
        "shop": shop,
        "agent": agent,
        "routing-group": group,
        "buyer": buyer,
        "order": order,
        "footprint": world.footprint,
        "after-sales-event": world.event,
        "conversation": conversation,
        "conversation-messages": conversation,
        "faq-entry": FaqEntryFactory(shop=shop),
    }
    ended = EndedConversationFactory(shop=shop, buyer=buyer, agent=agent)
    invite = RatingInviteFactory(conversation=ended, agent=agent)
    world.objects["evaluation-invite"] = invite
    world.objects["evaluation"] = EvaluationFactory(conversation=ended, channel="system", invite=invite)
    world.ended = ended
    InviteDecisionFactory(conversation=ended)
    export = Export.objects.create(
        shop=shop, requested_by=owner.user, kind=ExportKind.MESSAGES, format=ExportFormat.CSV, status=ExportStatus.DONE
    )
    export.file.save(export.filename, ContentFile(b"message_id\r\n"), save=True)
    world.objects["export"] = export
    world.objects["monitoring-conversation"] = conversation
    world.objects["metrics-daily"] = DailyMetric.objects.create(
        shop=shop, date=conversation.started_at.date(), scope=MetricScope.SHOP, conversations=1
    )
    # Workbench: a team phrase and rule, the agent's task, and a reminder for the owner (notifications are personal).
    world.objects["quick-phrase"] = QuickPhraseFactory(shop=shop)
    world.objects["auto-reply"] = AutoReplyRuleFactory(shop=shop)
    world.objects["task"] = FollowUpTaskFactory(shop=shop, handler=agent, conversation=conversation)
    world.objects["notification"] = NotificationFactory(task=FollowUpTaskFactory(shop=shop, handler=owner))
    reply = MessageFactory(conversation=ended, sender="system", agent=agent, is_auto_reply=True, body="稍等")
    AutoReplyDelivery.objects.create(
        shop=shop, buyer=buyer, conversation=ended, trigger="agent_busy", occasion=f"{ended.pk}:0", message=reply
    )
    # The assistant: a shop synonym group, and its answer (a fallback) to the buyer's message.
    world.objects["synonym-group"] = SynonymGroup.objects.create(shop=shop, words=["打底衫", "内搭"])
    BotReply.objects.create(
        shop=shop,
        conversation=conversation,
        buyer_message=world.message,
        kind=BotReplyKind.FALLBACK,
        question=world.message.body,
        at=world.message.sent_at,
    )
    RolloutConfig.current()
    ServiceEvent.objects.create(shop=shop, kind=EventKind.ASSIGNED, conversation=conversation, agent=agent)
    # A webhook of the shop with one delivery (its URL never resolves: nothing leaves the machine).
    webhook = WebhookSubscription.objects.create(
        shop=shop, created_by=owner.user, url="https://hooks.invalid/in", secret=secret_new()
    )
    event = Event.objects.create(shop=shop, type=EventType.CONVERSATION_ASSIGNED, conversation_id=conversation.pk)
    events_sequence()  # deliveries are made for numbered events only
    WebhookDelivery.objects.create(subscription=webhook, event=event)
    world.objects["webhook"] = webhook
    FeedCursor.objects.get_or_create(name="webhooks")
    return world

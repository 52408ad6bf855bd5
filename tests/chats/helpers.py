"""Small helpers the chat lifecycle, routing and assistant tests share."""

from agents.models import Agent
from chats import services
from chats.models import Message
from tests.shops.factories import BuyerFactory


def start(shop, **kwargs):
    """A chat started through the service, by a new buyer unless ``buyer`` is given."""
    return services.conversation_start(shop=shop, buyer=kwargs.pop("buyer", None) or BuyerFactory(), **kwargs)


def bodies(conversation, sender=None):
    """The chat's message texts in order (only ``sender``'s when given)."""
    messages = Message.objects.filter(conversation=conversation).order_by("sent_at", "pk")
    if sender:
        messages = messages.filter(sender=sender)
    return list(messages.values_list("body", flat=True))


def active(agent):
    """The agent's ``active_chats`` counter as stored now."""
    return Agent.objects.get(pk=agent.pk).active_chats

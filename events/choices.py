"""Event types and who may see an event."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """What happened. Later types are added, never renamed (API.md)."""

    CONVERSATION_STARTED = "conversation.started", _("Chat started")
    CONVERSATION_QUEUED = "conversation.queued", _("Chat queued")
    CONVERSATION_ASSIGNED = "conversation.assigned", _("Chat assigned")
    CONVERSATION_TRANSFERRED = "conversation.transferred", _("Chat transferred")
    CONVERSATION_ENDED = "conversation.ended", _("Chat ended")
    MESSAGE_CREATED = "message.created", _("Message sent")
    TRANSFER_REQUESTED = "transfer.requested", _("Transfer to human requested")
    AGENT_STATUS_CHANGED = "agent.status_changed", _("Agent status changed")
    NOTIFICATION_CREATED = "notification.created", _("Notification created")
    INVITE_SENT = "invite.sent", _("Rating invite sent")
    EVALUATION_CREATED = "evaluation.created", _("Rating received")
    EXPORT_FINISHED = "export.finished", _("Export finished")


class Audience(models.TextChoices):
    """Who in the shop may see an event besides its managers (owners, supervisors), its integration clients and
    platform staff, who see every event of the shop."""

    SHOP = "shop", _("Everyone in the shop")  # queue events: every agent of the shop sees them
    AGENT = "agent", _("The agents named on the event")  # the chat's agent at that moment (and the one before)
    MANAGERS = "managers", _("Shop managers only")

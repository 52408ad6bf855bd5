from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryPoint(models.TextChoices):
    SHOP = "shop", _("Shop page")
    ITEM = "item", _("Item page")
    ORDER = "order", _("Order page")


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("Served by the service assistant")
    QUEUED = "queued", _("Queued for a human")
    HUMAN = "human", _("Served by a human")
    ENDED = "ended", _("Ended")


class Sender(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Service assistant")
    SYSTEM = "system", _("System")
    OFFICIAL = "official", _("Official platform message")


class MessageFlag(models.TextChoices):
    SUSPICIOUS_LINK = "suspicious_link", _("Suspicious link")

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class InviteChannel(models.TextChoices):
    SYSTEM = "system", _("System invite")
    SELF = "self", _("Buyer's own rating")
    AGENT = "agent", _("Agent invite (retired)")


class InviteStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("rating invite status", "Pending")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")


SATISFIED_SCORES = (4, 5)
INVITE_VALIDITY_HOURS = 24


class MetricScope(models.TextChoices):
    """What one daily metrics row is about: the whole shop, one agent, one routing group or one service phase."""

    SHOP = "shop", _("Shop")
    AGENT = "agent", _("Agent")
    GROUP = "group", _("Routing group")
    PHASE = "phase", _("Service phase")
    SERVED_BY = "served_by", _("Served by (bot or human)")


class ServedBy(models.TextChoices):
    """Who served a chat: a human agent (it reached one) or only the service assistant (or nobody)."""

    BOT = "bot", _("Service assistant only")
    HUMAN = "human", _("A human agent")


class ReceptionTier(models.TextChoices):
    """Tiers of daily average reception volume (conversations per day over the last 30 days)."""

    UNDER_100 = "<100", _("Under 100 chats a day")
    FROM_100 = "100-999", _("100 to 999 chats a day")
    FROM_1000 = "1000-9999", _("1,000 to 9,999 chats a day")
    FROM_10000 = ">=10000", _("10,000 or more chats a day")


# Floors of the reception tiers, highest first (DESIGN.md: ``<100``, ``100-999``, ``1000-9999``, ``>=10000``).
RECEPTION_TIER_FLOORS = (
    (10_000, ReceptionTier.FROM_10000),
    (1_000, ReceptionTier.FROM_1000),
    (100, ReceptionTier.FROM_100),
)

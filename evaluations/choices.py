from django.db import models
from django.utils.translation import gettext_lazy as _


class InviteChannel(models.TextChoices):
    SYSTEM = "system", _("System invite")
    SELF = "self", _("Buyer's own rating")
    AGENT = "agent", _("Agent invite (retired)")


class InviteStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")


SATISFIED_SCORES = (4, 5)
INVITE_VALIDITY_HOURS = 24

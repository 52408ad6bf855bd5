from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentRole(models.TextChoices):
    OWNER = "owner", _("Owner (main account)")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")


class AgentStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    BUSY = "busy", _("Busy")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class GroupPhase(models.TextChoices):
    PRE_SALES = "pre_sales", _("Pre-sales")
    AFTER_SALES = "after_sales", _("After-sales")
    ANY = "any", _("Any")

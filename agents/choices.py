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


class PhraseScope(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    TEAM = "team", _("Team")


class AutoReplyTrigger(models.TextChoices):
    """When the system sends an auto-reply for an agent."""

    FIRST_MESSAGE_OF_DAY = "first_message_of_day", _("Buyer's first message of the day")
    AGENT_BUSY = "agent_busy", _("Agent busy")
    AGENT_AWAY = "agent_away", _("Agent away")
    OVER_CAPACITY = "over_capacity", _("Agent over N active chats")

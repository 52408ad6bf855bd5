from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EntryPoint(models.TextChoices):
    SHOP = "shop", _("Shop page")
    ITEM = "item", _("Item page")
    ORDER = "order", _("Order page")


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("Served by the service assistant")
    QUEUED = "queued", _("Queued for a human")
    HUMAN = "human", _("Served by a human")
    LEFT_MESSAGE = "left_message", _("Message left for the shop")
    ENDED = "ended", _("Ended")


class Sender(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Service assistant")
    SYSTEM = "system", _("System")
    OFFICIAL = "official", _("Official platform message")


class ClosedBy(models.TextChoices):
    AGENT = "agent", _("Agent")
    BUYER = "buyer", _("Buyer")
    IDLE = "idle", _("Idle timeout")
    SYSTEM = "system", _("System or operations")


class TransferOutcome(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to an agent")
    QUEUED = "queued", _("Queued")
    FAILED_OFFLINE = "failed_offline", _("Failed: no agent online")
    FAILED_BUSY = "failed_busy", _("Failed: every agent at capacity")
    ALREADY_ASSIGNED = "already_assigned", _("Already assigned")


class TransferSource(models.TextChoices):
    """Where a transfer-to-human request came from."""

    BUTTON = "button", _("Transfer-to-human entry")
    TYPED = "typed", _("Typed by the buyer")


class BotReplyKind(models.TextChoices):
    """How the service assistant answered a buyer message."""

    ANSWER = "answer", _("FAQ answer")
    CLARIFICATION = "clarification", _("Clarification (did you mean ...)")
    FALLBACK = "fallback", _("Fallback")
    TRANSFER = "transfer", _("Transfer to human")


class EventKind(models.TextChoices):
    """What the service-event log records (who, what, when) for supervisors and metrics."""

    STARTED = "started", _("Chat started")
    TRANSFER_REQUESTED = "transfer_requested", _("Transfer to human requested")
    ASSIGNED = "assigned", _("Assigned to an agent")
    QUEUED = "queued", _("Queued")
    ROUTING_FAILED = "routing_failed", _("Routing failed")
    TRANSFERRED = "transferred", _("Transferred by an agent")
    CLOSED = "closed", _("Chat ended")
    AGENT_STATUS = "agent_status", _("Agent status changed")


class MessageFlag(models.TextChoices):
    SUSPICIOUS_LINK = "suspicious_link", _("Suspicious link")
    RATING_INVITE = "rating_invite", _("Rating invite card")


class TaskKind(models.TextChoices):
    """What a follow-up task (任务) is about."""

    FOLLOW_UP = "follow_up", _("Follow up with the buyer")
    PAYMENT_REMINDER = "payment_reminder", _("Remind to pay")
    SHIPPING = "shipping", _("Check shipping")
    AFTER_SALES = "after_sales", _("After-sales handling")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class NotificationKind(models.TextChoices):
    TASK_DUE = "task_due", _("Task due")
    MISSED_FOLLOWUP = "missed_followup", _("Missed follow-up")
    LEFT_MESSAGE = "left_message", _("Left message to answer")


class ExportKind(models.TextChoices):
    CONVERSATIONS = "conversations", _("Conversations with their response figures")
    MESSAGES = "messages", _("Messages")


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (UTF-8)")
    XLSX = "xlsx", _("Excel (XLSX)")


class ExportStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("export status", "Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")

"""The service assistant's knowledge base, the shop's synonyms, and the log of its answers."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import ShopScopedQuerySet
from shops.models import Shop

from ..choices import BotReplyKind
from .conversation import Conversation, ConversationPartQuerySet, Message


class FaqEntry(models.Model):
    """One entry of a shop's knowledge base: the service assistant answers buyer messages that match it."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="faq_entries", verbose_name=_("shop"))
    question = models.CharField(_("question"), max_length=200)
    similar_questions = models.JSONField(
        _("similar questions"),
        default=list,
        blank=True,
        help_text=_("Other ways buyers ask the same question (相似问法), one per line."),
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    answer = models.TextField(_("answer"), max_length=2000)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    # The assistant's cached index of a shop is rebuilt when the newest change of its entries moves.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["shop_id", "pk"]
        indexes = [models.Index(fields=["shop", "enabled"], name="faq_shop_enabled")]

    def __str__(self) -> str:
        return self.question


class SynonymGroup(models.Model):
    """Words a shop's buyers use for the same thing (e.g. 打底衫 / 内搭), beside the platform's list."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="synonym_groups", verbose_name=_("shop"))
    words = models.JSONField(_("words"), default=list, help_text=_("Two or more words that mean the same."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("synonym group")
        verbose_name_plural = _("synonym groups")
        ordering = ["shop_id", "pk"]
        indexes = [models.Index(fields=["shop"], name="synonym_group_shop")]

    def __str__(self) -> str:
        return " / ".join(str(word) for word in self.words)


class BotReply(models.Model):
    """How the assistant answered one live buyer message of a bot-served chat: the daily assistant figures and the
    knowledge gaps (questions that got the fallback) are read from here."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="bot_replies", verbose_name=_("conversation")
    )
    buyer_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="bot_reply", verbose_name=_("buyer message")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=BotReplyKind.choices)
    faq_entry = models.ForeignKey(
        FaqEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bot_replies",
        verbose_name=_("FAQ entry answered"),
    )
    score = models.FloatField(_("match confidence"), null=True, blank=True)
    # A clarification's numbered questions (FAQ entry ids): the buyer may answer with a number.
    candidates = models.JSONField(_("questions offered"), default=list, blank=True)
    question = models.CharField(_("buyer question"), max_length=500)
    at = models.DateTimeField(_("at"))

    # Its question is the buyer's message: an agent sees it exactly when they see the chat.
    objects = ConversationPartQuerySet.as_manager()

    class Meta:
        verbose_name = _("assistant reply")
        verbose_name_plural = _("assistant replies")
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BotReplyKind.values), name="bot_reply_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["shop", "at"], name="bot_reply_shop_at"),
            models.Index(
                fields=["shop", "at"], condition=Q(kind=BotReplyKind.FALLBACK), name="bot_reply_shop_fallback"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.question[:40]}"

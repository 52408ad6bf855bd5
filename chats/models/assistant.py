"""The service assistant's knowledge base."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import ShopScopedQuerySet
from shops.models import Shop


class FaqEntry(models.Model):
    """One entry of a shop's knowledge base: the service assistant answers buyer messages that match it."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="faq_entries", verbose_name=_("shop"))
    question = models.CharField(_("question"), max_length=200)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    answer = models.TextField(_("answer"), max_length=2000)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["shop_id", "pk"]
        indexes = [models.Index(fields=["shop", "enabled"], name="faq_shop_enabled")]

    def __str__(self) -> str:
        return self.question

"""Admin for webhook subscriptions and their delivery log.

Subscriptions are written through the services (the SSRF guard checks the URL, a secret is made on creation). The
secret is never shown on the page: it is in the message after creating or rotating, once. Deliveries are the
system's record: read-only, with a redeliver action (one attempt now each, made in the request).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import (
    BigTableModelAdmin,
    ReadOnlyTabularInline,
    ScopedAdminForm,
    ScopedModelAdmin,
    ScopedRelatedFieldListFilter,
)
from backoffice.callers import caller_for
from backoffice.errors import ApplicationError

from ..choices import EventType
from ..models import WebhookDelivery, WebhookSubscription
from ..services import (
    webhook_delivery_redeliver,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
    webhook_url_check,
)

RECENT_DELIVERIES = 20
REDELIVER_LIMIT = 5  # each is a POST made in the request (up to the 5 s timeout): inside the web timeout


class WebhookSubscriptionAdminForm(ScopedAdminForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event type, including types added later."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ("shop", "url", "events", "enabled")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if "url" in self.changed_data or self.instance.pk is None:
            try:
                webhook_url_check(url)
            except ApplicationError as error:
                raise forms.ValidationError(str(error.message)) from None
        return url

    def clean(self):
        cleaned = super().clean()
        caller = caller_for(getattr(self, "request_user", None))
        if self.instance.pk is None and cleaned.get("shop") is None and not caller.is_platform:
            self.add_error("shop", _("Choose the shop."))  # only platform staff subscribe to every shop
        return cleaned


class RecentDeliveryInline(ReadOnlyTabularInline):
    model = WebhookDelivery
    verbose_name_plural = _("latest deliveries")
    fields = ("id", "event_position", "status", "attempts", "last_status_code", "next_attempt_at", "delivered_at")
    readonly_fields = fields
    ordering = ("-pk",)
    row_limit = RECENT_DELIVERIES
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(position=F("event__position"))

    @admin.display(description=_("event"))
    def event_position(self, delivery):
        return delivery.position


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedModelAdmin):
    form = WebhookSubscriptionAdminForm
    list_display = (
        "id",
        "url",
        "shop",
        "enabled",
        "event_types",
        "consecutive_failures",
        "disabled_reason",
        "created_by",
        "created_at",
    )
    list_filter = ("enabled", ("created_at", admin.DateFieldListFilter), ("shop", ScopedRelatedFieldListFilter))
    list_select_related = ("shop", "created_by")
    search_fields = ("url", "created_by__username", "shop__name")
    search_help_text = _("URL, creator's login or shop name; #42 finds the subscription with id 42.")
    autocomplete_fields = ("shop",)
    readonly_fields = (
        "secret_hint",
        "created_by",
        "consecutive_failures",
        "disabled_reason",
        "disabled_at",
        "owner_notified_at",
        "created_at",
        "updated_at",
        "delivery_log",
    )
    fixed_after_creation = ("shop",)
    inlines = (RecentDeliveryInline,)
    actions = ("rotate_secret", "switch_on", "switch_off")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()  # a new subscription has no deliveries

    @admin.display(description=_("event types"))
    def event_types(self, subscription):
        return ", ".join(subscription.events) if subscription.events else _("all")

    @admin.display(description=_("secret"))
    def secret_hint(self, subscription):
        if not subscription.secret:
            return "—"
        return _("set, ending in …%(tail)s (rotate it to see a new one)") % {"tail": subscription.secret[-4:]}

    @admin.display(description=_("delivery log"))
    def delivery_log(self, subscription):
        if subscription.pk is None:
            return "—"
        url = reverse("admin:events_webhookdelivery_changelist") + "?" + urlencode({"subscription": subscription.pk})
        return format_html('<a href="{}">{}</a>', url, _("All deliveries"))

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("url", "events", "enabled") if name in form.cleaned_data}
        if change:
            changed = {name: value for name, value in data.items() if name in form.changed_data}
            if changed:
                webhook_subscription_update(subscription=obj, **changed)
            return
        created = webhook_subscription_create(created_by=request.user, shop=form.cleaned_data.get("shop"), **data)
        obj.pk = created.pk
        self._show_secret(request, created)

    def delete_model(self, request, obj):
        webhook_subscription_delete(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_delete(subscription=subscription)

    def _show_secret(self, request, subscription):
        self.message_user(
            request,
            _("Signing secret of %(url)s (shown this once): %(secret)s")
            % {"url": subscription.url, "secret": subscription.secret},
            messages.WARNING,
        )

    @admin.action(description=_("Rotate the signing secret of the selected subscriptions"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            self._show_secret(request, webhook_secret_rotate(subscription=subscription))

    def _switch(self, request, queryset, enabled: bool) -> None:
        changed = 0
        for subscription in queryset.filter(enabled=not enabled):
            webhook_subscription_update(subscription=subscription, enabled=enabled)
            changed += 1
        message = ngettext("%(count)d subscription updated.", "%(count)d subscriptions updated.", changed) % {
            "count": changed
        }
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Switch selected subscriptions on"), permissions=["change"])
    def switch_on(self, request, queryset):
        self._switch(request, queryset, True)

    @admin.action(description=_("Switch selected subscriptions off"), permissions=["change"])
    def switch_off(self, request, queryset):
        self._switch(request, queryset, False)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(BigTableModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event_position",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "response_ms",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = (
        "status",
        ("created_at", admin.DateFieldListFilter),
        ("subscription", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("subscription",)
    search_fields = ("subscription__url", "last_error")
    search_help_text = _("Subscription URL or error text; #42 finds the delivery with id 42.")
    fields = (
        "subscription",
        "event_position",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "response_ms",
        "response_body",
        "next_attempt_at",
        "lease_until",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("redeliver",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(position=F("event__position"), type=F("event__type"))

    def has_add_permission(self, request):
        return False  # deliveries are made by the dispatcher

    def has_change_permission(self, request, obj=None):
        return False  # the system's record

    def has_redeliver_permission(self, request):
        return self.admin_site._registry[WebhookSubscription].has_change_permission(request)

    @admin.display(description=_("event"), ordering="event__position")
    def event_position(self, delivery):
        return delivery.position

    @admin.display(description=_("event type"))
    def event_type(self, delivery):
        return delivery.type

    @admin.action(description=_("Redeliver the selected deliveries now"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        delivered, failed = 0, 0
        for delivery in queryset.order_by("pk")[:REDELIVER_LIMIT]:
            try:
                result = webhook_delivery_redeliver(delivery=delivery)
            except ApplicationError as error:
                self.message_user(request, f"#{delivery.pk}: {error.message}", messages.ERROR)
                continue
            if result.last_error:
                failed += 1
            else:
                delivered += 1
        self.message_user(
            request,
            _("%(delivered)d delivered, %(failed)d failed (at most %(limit)d per run).")
            % {"delivered": delivered, "failed": failed, "limit": REDELIVER_LIMIT},
            messages.SUCCESS if not failed else messages.WARNING,
        )

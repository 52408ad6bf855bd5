"""Admin for follow-up tasks, the reminders (notifications) agents get, and the auto-reply delivery log."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import (
    EstimatedCountPaginator,
    ReadOnlyModelAdmin,
    ScopedAdminForm,
    ScopedModelAdmin,
    ScopedRelatedFieldListFilter,
)
from backoffice.callers import caller_for
from backoffice.errors import ApplicationError, InvalidInput

from ..choices import TaskStatus
from ..followup.tasks import task_cancel, task_check, task_complete, task_create, task_update
from ..models import AutoReplyDelivery, FollowUpTask, Notification

TASK_FIELDS = ("kind", "content", "handler", "remind_at", "conversation", "buyer", "order")


class FollowUpTaskAdminForm(ScopedAdminForm):
    """Reports the task service's rules (same shop, matching buyer, others' tasks need sub-accounts) as errors."""

    caller = None  # set by ``FollowUpTaskAdmin.get_form`` on the fresh form class of each request

    class Meta:
        model = FollowUpTask
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        shop = cleaned_data.get("shop") if "shop" in self.fields else self.instance.shop
        handler = cleaned_data.get("handler")
        if shop is None or handler is None or self.errors:
            return cleaned_data
        probe = FollowUpTask(shop=shop, **{name: cleaned_data.get(name) for name in TASK_FIELDS})
        try:
            task_check(task=probe, creator_agent_id=self.caller.agent_id if self.caller else None)
        except InvalidInput as error:
            self.add_error(error.field if error.field in self.fields else None, str(error.message))
        return cleaned_data


class DueFilter(admin.SimpleListFilter):
    title = _("reminder")
    parameter_name = "reminded"

    def lookups(self, request, model_admin):
        return (("0", _("Not yet reminded")), ("1", _("Reminded")))

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(reminded_at__isnull=self.value() == "0")
        return queryset


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(ScopedModelAdmin):
    form = FollowUpTaskAdminForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = ("id", "kind", "short_content", "shop", "handler", "status", "remind_at", "reminded_at")
    list_filter = ("status", "kind", DueFilter, ("shop", ScopedRelatedFieldListFilter))
    list_select_related = ("shop", "handler")
    search_fields = ("content", "handler__display_name")
    search_help_text = _("Content or handler name; #42 finds the task with id 42.")
    autocomplete_fields = ("shop", "handler", "conversation", "buyer", "order")
    readonly_fields = ("status", "reminded_at", "closed_at", "created_by", "created_at", "updated_at")
    fixed_after_creation = ("shop",)
    date_hierarchy = "remind_at"
    ordering = ("-remind_at", "-pk")
    actions = ("complete", "cancel")

    @admin.display(description=_("content"))
    def short_content(self, obj):
        return obj.content[:60]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.caller = caller_for(request.user)  # a fresh class per call: safe to set
        return form

    def save_model(self, request, obj, form, change):
        caller = caller_for(request.user)
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in TASK_FIELDS}
            task_update(task=obj, creator_agent_id=caller.agent_id, **fields)
            return
        created = task_create(
            shop=obj.shop,
            created_by_id=request.user.pk,
            creator_agent_id=caller.agent_id,
            **{name: getattr(obj, name) for name in TASK_FIELDS},
        )
        obj.pk = created.pk

    def _close(self, request, queryset, service) -> int:
        changed = 0
        for task in queryset.filter(status=TaskStatus.OPEN):
            try:
                service(task=task)
            except ApplicationError as error:
                self.message_user(request, f"#{task.pk}: {error.message}", messages.ERROR)
            else:
                changed += 1
        return changed

    @admin.action(description=_("Mark selected open tasks done"), permissions=["change"])
    def complete(self, request, queryset):
        count = self._close(request, queryset, task_complete)
        message = ngettext("%(count)d task marked done.", "%(count)d tasks marked done.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Cancel selected open tasks"), permissions=["change"])
    def cancel(self, request, queryset):
        count = self._close(request, queryset, task_cancel)
        message = ngettext("%(count)d task cancelled.", "%(count)d tasks cancelled.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)


class ReadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return (("0", _("Unread")), ("1", _("Read")))

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(read_at__isnull=self.value() == "0")
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    """Reminders delivered to agents: task due (one per task and reminder time), missed follow-up (one per turn)."""

    list_display = ("id", "kind", "recipient", "shop", "task", "conversation", "due_at", "created_at", "read_at")
    list_filter = ("kind", ReadFilter, ("shop", ScopedRelatedFieldListFilter), "created_at")
    list_select_related = ("shop", "recipient", "task", "conversation")
    search_fields = ("recipient__display_name",)
    search_help_text = _("Recipient name; #42 finds the notification with id 42.")


@admin.register(AutoReplyDelivery)
class AutoReplyDeliveryAdmin(ReadOnlyModelAdmin):
    """Which auto-reply went out on which occasion (a local day, or a buyer turn), so none is sent twice."""

    list_display = ("id", "trigger", "occasion", "shop", "buyer", "conversation", "message", "created_at")
    list_filter = ("trigger", ("shop", ScopedRelatedFieldListFilter), "created_at")
    list_select_related = ("shop", "buyer", "conversation", "message")
    search_fields = ("=conversation__id", "buyer__nick__exact")
    search_help_text = _("Conversation id or exact buyer nick; #42 finds the delivery with id 42.")

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters

from agents.models import Agent, RoutingGroup
from backoffice.api.tenancy import ScopedFilterSet, caller_default_shop
from backoffice.callers import caller_for
from backoffice.tenancy import NOBODY
from shops.models import Shop

from ..assistant.faq import text_list_search
from ..models import Conversation, Export, FaqEntry, FollowUpTask, Message, Notification, SynonymGroup
from ..supervision.monitoring import MonitoringFilters, monitoring_conversation_filter, monitoring_filters_build


class ConversationFilter(ScopedFilterSet):
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Conversation
        fields = [
            "shop",
            "status",
            "agent",
            "group",
            "buyer",
            "phase",
            "entry_point",
            "transfer_entry_visible",
            "transfer_source",
        ]


class MessageFilter(ScopedFilterSet):
    sent_after = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["sender", "agent", "is_auto_reply"]


class FaqEntryFilter(ScopedFilterSet):
    q = filters.CharFilter(
        method="filter_q", label=gettext_lazy("Question or similar question contains (case-insensitive).")
    )

    class Meta:
        model = FaqEntry
        fields = ["shop", "enabled"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(question__icontains=value) | text_list_search("similar_questions", value))


class SynonymGroupFilter(ScopedFilterSet):
    q = filters.CharFilter(method="filter_q", label=gettext_lazy("A word of the group contains (case-insensitive)."))

    class Meta:
        model = SynonymGroup
        fields = ["shop"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(text_list_search("words", value))


class FollowUpTaskFilter(ScopedFilterSet):
    remind_after = filters.IsoDateTimeFilter(field_name="remind_at", lookup_expr="gte")
    remind_before = filters.IsoDateTimeFilter(field_name="remind_at", lookup_expr="lt")

    class Meta:
        model = FollowUpTask
        fields = ["shop", "status", "kind", "handler", "conversation", "buyer"]


class NotificationFilter(ScopedFilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["shop", "kind"]


class MonitoringQueryForm(forms.Form):
    """The monitoring search's form: once every value is valid on its own, ``monitoring_filters_build`` judges them
    together and gives the search (``monitoring_query``). Its filterset sets who asks and whether a shop is a must."""

    caller = NOBODY
    shop_required = False
    monitoring_query: tuple[Shop | None, MonitoringFilters] | None = None

    def clean(self):
        data = super().clean()
        if self.errors:  # a value already refused is not judged against the others
            return data
        unanswered = {"true": True, "false": False}.get(data.get("unanswered") or "")
        min_response_seconds = data.get("min_response_seconds")
        # Raised field errors land on their fields (Form._clean_form), so filterset.errors has them by name.
        self.monitoring_query = monitoring_filters_build(
            shop=caller_default_shop(self.caller, data.get("shop")),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            agent=data.get("agent"),
            group=data.get("group"),
            min_response_seconds=float(min_response_seconds) if min_response_seconds is not None else None,
            unanswered=unanswered,
            shop_required=self.shop_required,
        )
        return data


class MonitoringConversationFilter(ScopedFilterSet):
    """Monitoring search. Dates are the shop's local dates (both included); figures filter set-based in SQL."""

    # The query parameters only: the form validates them together and filter_queryset applies them together (the
    # dates need the shop's time zone). Dates far outside any chat history are refused by ScopedFilterSet.
    shop = filters.ModelChoiceFilter(queryset=Shop.objects.all())
    date_from = filters.DateFilter(help_text=gettext_lazy("First local date (chats started)."))
    date_to = filters.DateFilter(help_text=gettext_lazy("Last local date, included."))
    agent = filters.ModelChoiceFilter(queryset=Agent.objects.all())
    group = filters.ModelChoiceFilter(queryset=RoutingGroup.objects.all())
    min_response_seconds = filters.NumberFilter(
        min_value=0, help_text=gettext_lazy("Chats with an answered turn at least this slow.")
    )
    unanswered = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        help_text=gettext_lazy("true: chats with an unanswered turn; false: every turn answered."),
    )

    class Meta:
        model = Conversation
        fields = []
        form = MonitoringQueryForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, shop_required=False):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        # django-filter builds the form from data and prefix alone: who asks, and what it needs, are set on it here.
        self.form.caller = caller_for(request.user) if request is not None else NOBODY
        self.form.shop_required = shop_required

    @property
    def monitoring_query(self) -> tuple[Shop | None, MonitoringFilters]:
        """The shop the search is about (``None``: all the caller's) and its filters; only once ``is_valid()``."""
        return self.form.monitoring_query

    def filter_queryset(self, queryset):
        shop, monitoring_filters = self.monitoring_query
        if shop is not None:
            queryset = queryset.filter(shop=shop)
        return monitoring_conversation_filter(queryset, monitoring_filters)


class ExportFilter(ScopedFilterSet):
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Export
        fields = ["shop", "kind", "format", "status"]

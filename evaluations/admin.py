"""Admin for rating invites, evaluations and the invite draws, with satisfaction at a glance."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from backoffice.admin import ReadOnlyModelAdmin, ScopedRelatedFieldListFilter

from .choices import SATISFIED_SCORES
from .models import Evaluation, InviteDecision, RatingInvite


@admin.register(RatingInvite)
class RatingInviteAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "conversation", "shop", "channel", "status", "agent", "sent_at", "expires_at", "answered_at")
    list_filter = (
        "channel",
        "status",
        ("sent_at", admin.DateFieldListFilter),
        ("conversation__shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("conversation__shop", "agent")
    search_fields = ("=conversation__id", "agent__display_name")

    @admin.display(description=_("shop"), ordering="conversation__shop")
    def shop(self, invite):
        return invite.conversation.shop


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "conversation", "shop", "channel", "score", "tag_list", "comment", "answered_at")
    list_filter = (
        "channel",
        "score",
        ("answered_at", admin.DateFieldListFilter),
        ("conversation__shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("conversation__shop",)
    search_fields = ("=conversation__id", "comment")

    @admin.display(description=_("shop"), ordering="conversation__shop")
    def shop(self, evaluation):
        return evaluation.conversation.shop

    @admin.display(description=_("tags"))
    def tag_list(self, evaluation):
        return "、".join(evaluation.tags)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # One aggregate over the filtered rows, in the database.
            totals = changelist.queryset.order_by().aggregate(
                total=Count("pk"), satisfied=Count("pk", filter=Q(score__in=SATISFIED_SCORES))
            )
            if totals["total"]:
                rate = f"{totals['satisfied'] / totals['total']:.1%}"
                response.context_data["satisfaction"] = {**totals, "rate": rate}
        return response


@admin.register(InviteDecision)
class InviteDecisionAdmin(ReadOnlyModelAdmin):
    list_display = ("conversation", "send", "probability", "decided_at")
    list_filter = ("send", ("decided_at", admin.DateFieldListFilter))
    list_select_related = ("conversation",)
    search_fields = ("=conversation__id",)

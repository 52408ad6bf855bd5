"""Admin for the live supervision wall (imported by ``chats.admin``): one page per shop, for a screen on the wall.

The page (a shop's change page, as the staffing plan's) shows ``chats.supervision.wall.wall_state`` and keeps it
current without a reload: its script (``chats/wall.js``) listens to ``/ws/v1/events/`` with the admin session and
refetches the state (``<shop>/state/``, JSON) when a chat, a message, a transfer request or an agent's status
changes. Platform staff see every shop's wall, owners and supervisors their own shop's (another shop's answers 404);
agents and integration clients none (403), whatever their Django permissions.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.choices import AgentStatus
from backoffice.admin import ScopedModelAdmin
from backoffice.callers import caller_for

from ..choices import ConversationStatus
from ..models import Wall
from ..supervision.wall import wall_state

# Event types after which the page refetches its state (the rest, e.g. notifications, change nothing it shows).
REFRESH_ON = (
    "conversation.started",
    "conversation.queued",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.ended",
    "message.created",
    "transfer.requested",
    "agent.status_changed",
)


def wall_strings() -> dict[str, object]:
    """The texts the page's script writes, in the request's language (no JavaScript catalogue needed)."""
    return {
        "live": _("live"),
        "connecting": _("connecting…"),
        "reconnecting": _("reconnecting…"),
        "signed_out": _("signed out: sign in again"),
        "stale": _("could not refresh"),
        "queued": _("queued"),
        "bot": _("assistant"),
        "first_turn": _("first turn"),
        "turn": _("turn %(number)s"),
        "no_waiting": _("No chat is waiting for a response."),
        "no_agents": _("This shop has no agents."),
        "more_waiting": _("and %(count)s more"),
        "seconds": _("%(seconds)s s"),
        "rate_detail": _("%(answered)s of %(decided)s answered within 3 min"),
        "pending": _("%(count)s pending"),
        "no_first_turns": _("no first turn between 09:00 and 21:00 yet"),
        "responses": _("%(count)s first responses"),
        "no_responses": _("no first response yet"),
        "oldest": _("oldest waiting %(wait)s"),
        "queue_empty": _("nobody queued"),
        "waiting_detail": _("%(at_risk)s past 120 s · %(missed)s past 180 s"),
        "online_detail": _("%(active)s of %(capacity)s seats in use"),
        "statuses": {str(value): str(label) for value, label in AgentStatus.choices},
    }


@admin.register(Wall)
class WallAdmin(ScopedModelAdmin):
    """One row per shop; a shop's page is its live supervision wall."""

    list_display = ("name", "platform", "timezone", "wall_link")
    list_filter = ("platform",)
    search_fields = ("name",)
    ordering = ("name", "pk")

    def has_view_permission(self, request, obj=None):
        caller = caller_for(request.user)
        return (caller.is_platform or caller.is_shop_manager) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("live wall"))
    def wall_link(self, shop):
        url = reverse("admin:chats_wall_change", args=[shop.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open the live wall"))

    def get_urls(self):
        state = self.admin_site.admin_view(self.state_view)
        return [path("<int:shop_id>/state/", state, name="chats_wall_state"), *super().get_urls()]

    def _shop(self, request, object_id):
        """The shop of the wall, if the user may watch it: 403 for a role without walls, 404 outside the scope."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        shop = self.get_object(request, str(object_id))
        if shop is None:
            raise Http404(_("No such shop."))
        return shop

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shop = self._shop(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "is_nav_sidebar_enabled": False,  # a screen on the wall: the whole width for the figures
            "title": _("Live supervision wall: %(shop)s") % {"shop": shop.name},
            "shop": shop,
            "state": _as_json(wall_state(shop=shop, now=timezone.now())),
            "config": {
                "shop": shop.pk,
                "timezone": shop.timezone,
                "state_url": reverse("admin:chats_wall_state", args=[shop.pk]),
                "socket_path": "/ws/v1/events/",
                "refresh_on": REFRESH_ON,
                "queued_status": ConversationStatus.QUEUED,
                "bot_status": ConversationStatus.BOT,
            },
            "strings": wall_strings(),
        }
        return TemplateResponse(request, "admin/chats/wall.html", context)

    def state_view(self, request, shop_id: int):
        shop = self._shop(request, shop_id)
        return JsonResponse(_as_json(wall_state(shop=shop, now=timezone.now())))  # admin_view: never cached


def _as_json(state: dict) -> dict:
    """The state with JSON types only (times as ISO 8601 strings), for ``json_script`` and ``JsonResponse`` alike."""
    return json.loads(json.dumps(state, cls=DjangoJSONEncoder))

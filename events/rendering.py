"""An event as the API renders it, the one rendering of the feed (``GET /api/v1/events/``) and of webhook bodies:
``{"id": position, "type", "at", "shop", "conversation", "agent", "data"}``.

``event_render`` gives the dict; ``event_json`` the JSON text built around the event's stored ``data`` JSON text
(no decode and re-encode of it), for readers that fetch ``EVENT_COLUMNS`` tuples. Times are as DRF renders them:
ISO 8601 in the current time zone, ``Z`` for UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import Event

# What ``event_json`` takes, in this order (``data_json``: the data as JSON text, e.g. ``Cast("data", TextField())``).
EVENT_COLUMNS = ("position", "type", "at", "shop_id", "conversation_id", "agent_id", "data_json")


def event_time(at: datetime, zone=None) -> str:
    """A time as the API renders it (in ``zone``, by default the current time zone)."""
    local = at if at.tzinfo is None else at.astimezone(zone or timezone.get_current_timezone())
    text = local.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def event_render(event: Event) -> dict[str, Any]:
    """The event as a dict, in the API's field order."""
    return {
        "id": event.position,
        "type": event.type,
        "at": event_time(event.at),
        "shop": event.shop_id,
        "conversation": event.conversation_id,
        "agent": event.agent_id,
        "data": event.data,
    }


def event_json(
    position: int,
    type_: str,
    at: datetime,
    shop_id: int,
    conversation_id: int | None,
    agent_id: int | None,
    data_json: str,
    *,
    zone=None,
) -> str:
    """The event as JSON text, equal to ``json.dumps(event_render(event))`` up to whitespace inside ``data``
    (``type_`` is an ``EventType`` value: nothing in it needs escaping)."""
    return (
        f'{{"id":{int(position)},"type":"{type_}","at":"{event_time(at, zone)}","shop":{int(shop_id)},'
        f'"conversation":{_number(conversation_id)},"agent":{_number(agent_id)},"data":{data_json}}}'
    )


def _number(value) -> str:
    return "null" if value is None else str(int(value))

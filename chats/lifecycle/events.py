"""The service-event log: one row per request, assignment, transfer, end or agent status change. The only writer."""

from datetime import datetime

from ..models import Conversation, ServiceEvent


def event_build(
    *, shop_id: int, kind: str, at: datetime, conversation: Conversation | None = None, agent_id=None, **fields
) -> ServiceEvent:
    """An unsaved event, for ``events_record`` to store with others in one INSERT."""
    return ServiceEvent(
        shop_id=shop_id, kind=kind, created_at=at, conversation=conversation, agent_id=agent_id, **fields
    )


def events_record(events: list[ServiceEvent]) -> list[ServiceEvent]:
    """Store events built by ``event_build`` in one INSERT."""
    return ServiceEvent.objects.bulk_create(events)


def event_record(*, shop_id: int, kind: str, at: datetime, conversation=None, agent_id=None, **fields) -> ServiceEvent:
    """Store one event."""
    [event] = events_record(
        [event_build(shop_id=shop_id, kind=kind, at=at, conversation=conversation, agent_id=agent_id, **fields)]
    )
    return event

"""The service-event log: one row per request, assignment, transfer, end or agent status change."""

from ..models import ServiceEvent


def event_record(*, shop_id: int, kind: str, at, conversation=None, agent_id=None, **fields) -> ServiceEvent:
    return ServiceEvent.objects.create(
        shop_id=shop_id,
        kind=kind,
        created_at=at,
        conversation=conversation,
        agent_id=agent_id,
        **fields,
    )

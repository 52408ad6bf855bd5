"""Rating invites and evaluations as the API renders them (``GET /evaluation-invites/``, ``POST /evaluations/``),
for the outbox's events; ``tests/events/test_emission_payloads.py`` checks them against the endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.outbox import api_time

if TYPE_CHECKING:
    from .models import Evaluation, RatingInvite


def invite_payload(invite: RatingInvite) -> dict[str, Any]:
    """An invite as ``RatingInviteSerializer`` renders it."""
    return {
        "id": invite.pk,
        "conversation": invite.conversation_id,
        "channel": str(invite.channel),
        "status": str(invite.status),
        "agent": invite.agent_id,
        "sent_at": api_time(invite.sent_at),
        "expires_at": api_time(invite.expires_at),
        "answered_at": api_time(invite.answered_at),
    }


def evaluation_payload(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluation as ``EvaluationSerializer`` renders it."""
    return {
        "id": evaluation.pk,
        "invite": evaluation.invite_id,
        "conversation": evaluation.conversation_id,
        "channel": str(evaluation.channel),
        "score": evaluation.score,
        "tags": list(evaluation.tags),
        "comment": evaluation.comment,
        "answered_at": api_time(evaluation.answered_at),
    }

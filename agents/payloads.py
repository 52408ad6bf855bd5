"""Agents as the API renders them (``GET /agents/{id}/``), for the outbox's events, read with the row they describe.

``with_payload_fields`` adds to a query of agents what the API shows besides the row (the login's username, the ids
of the agent's routing groups), so a service that reads an agent anyway builds its payload without another query.
``tests/events/test_emission_payloads.py`` checks ``agent_payload`` against the endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL

from events.outbox import api_time

from .models import Agent, RoutingGroup


def _group_ids_sql() -> str:
    """The agent's routing group ids in the API's order (the groups' own ordering: shop, then name)."""
    agents = connection.ops.quote_name(Agent._meta.db_table)
    groups = RoutingGroup._meta.db_table
    members = RoutingGroup.members.through._meta.db_table
    picked = (
        f"SELECT g.id FROM {members} m JOIN {groups} g ON g.id = m.routinggroup_id "  # noqa: S608 - the models' names
        f"WHERE m.agent_id = {agents}.id ORDER BY g.shop_id, g.name"
    )
    if connection.vendor == "postgresql":
        return f"ARRAY({picked})"
    # SQLite aggregates the rows in the subquery's order.
    return f"(SELECT json_group_array(picked.id) FROM ({picked}) AS picked)"  # noqa: S608 - the models' names


def with_payload_fields(agents: QuerySet) -> QuerySet:
    """``agents`` with their login and their group ids (``payload_group_ids``) read in the same query."""
    group_ids = RawSQL(_group_ids_sql(), (), TextField())  # noqa: S611 - no input in it
    return agents.select_related("user").annotate(payload_group_ids=group_ids)


def _group_ids(agent: Agent) -> list[int]:
    ids = agent.payload_group_ids
    return list(ids) if isinstance(ids, list | tuple) else json.loads(ids or "[]")


def agent_payload(agent: Agent) -> dict[str, Any]:
    """An agent read through ``with_payload_fields``, as ``AgentSerializer`` renders it."""
    return {
        "id": agent.pk,
        "shop": agent.shop_id,
        "username": agent.user.username,
        "display_name": agent.display_name,
        "role": str(agent.role),
        "capacity": agent.capacity,
        "groups": _group_ids(agent),
        "status": str(agent.status),
        "active_chats": agent.active_chats,
        "status_changed_at": api_time(agent.status_changed_at),
        "last_assigned_at": api_time(agent.last_assigned_at),
        "created_at": api_time(agent.created_at),
    }

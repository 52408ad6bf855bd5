"""Read-side queries about chats, re-exported from their feature packages so old imports keep working."""

from ..routing.queue import queue_position_expression
from ..supervision.monitoring import (
    MonitoringFilters,
    monitoring_conversation_filter,
    monitoring_conversation_list,
    monitoring_turns,
    with_figures,
)
from ..supervision.staffing import staffing_heatmap, staffing_plan
from ..supervision.wall import wall_state
from ..turns.check import turns_out_of_sync

__all__ = [
    "MonitoringFilters",
    "monitoring_conversation_filter",
    "monitoring_conversation_list",
    "monitoring_turns",
    "queue_position_expression",
    "staffing_heatmap",
    "staffing_plan",
    "turns_out_of_sync",
    "wall_state",
    "with_figures",
]

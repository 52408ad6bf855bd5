"""Serializers of the chats API, one module per feature."""

from .assistant import FaqEntrySerializer, FaqEntryUpdateSerializer
from .conversations import ConversationSerializer, MessageSerializer, TransferResultSerializer, TransferSerializer
from .followup import FollowUpTaskSerializer, FollowUpTaskUpdateSerializer, NotificationSerializer
from .supervision import (
    ExportCreatedSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    HeatmapCellSerializer,
    HeatmapQuerySerializer,
    MonitoringConversationSerializer,
    MonitoringTranscriptSerializer,
    PlanHourSerializer,
    PlanQuerySerializer,
    ShiftPlanSerializer,
    ShiftSerializer,
    TranscriptMessageSerializer,
    TurnSerializer,
)

__all__ = [
    "ConversationSerializer",
    "ExportCreatedSerializer",
    "ExportRequestSerializer",
    "ExportSerializer",
    "FaqEntrySerializer",
    "FaqEntryUpdateSerializer",
    "FollowUpTaskSerializer",
    "FollowUpTaskUpdateSerializer",
    "HeatmapCellSerializer",
    "HeatmapQuerySerializer",
    "MessageSerializer",
    "MonitoringConversationSerializer",
    "MonitoringTranscriptSerializer",
    "NotificationSerializer",
    "PlanHourSerializer",
    "PlanQuerySerializer",
    "ShiftPlanSerializer",
    "ShiftSerializer",
    "TranscriptMessageSerializer",
    "TransferResultSerializer",
    "TransferSerializer",
    "TurnSerializer",
]

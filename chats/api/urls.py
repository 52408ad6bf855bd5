from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .views import assistant

router = SimpleRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("faq-entries", views.FaqEntryViewSet, basename="faq-entry")
router.register("synonym-groups", assistant.SynonymGroupViewSet, basename="synonym-group")
router.register("assistant/gaps", assistant.KnowledgeGapViewSet, basename="assistant-gaps")
router.register("tasks", views.FollowUpTaskViewSet, basename="task")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("monitoring/conversations", views.MonitoringConversationViewSet, basename="monitoring-conversation")
router.register("exports", views.ExportViewSet, basename="export")
router.register("staffing", views.StaffingViewSet, basename="staffing")

urlpatterns = [
    *router.urls,
    path(
        "conversations/<int:conversation_pk>/messages/",
        views.MessageViewSet.as_view({"get": "list", "post": "create"}),
        name="conversation-messages",
    ),
    path(
        "conversations/<int:conversation_pk>/suggestions/",
        assistant.ConversationSuggestionsViewSet.as_view({"get": "retrieve"}),
        name="conversation-suggestions",
    ),
]

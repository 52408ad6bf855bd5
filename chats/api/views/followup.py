"""The agent's follow-up work: tasks and the reminders (notifications)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backoffice.api.pagination import CursorPagination
from backoffice.api.permissions import SHOP_STAFF
from backoffice.api.tenancy import ScopedViewMixin
from backoffice.api.views import READ_CREATE, READ_CREATE_UPDATE, ScopedModelViewSet
from chats import services
from chats.api.filtersets import FollowUpTaskFilter, NotificationFilter
from chats.models import FollowUpTask, Notification

from ..serializers import FollowUpTaskSerializer, FollowUpTaskUpdateSerializer, NotificationSerializer


class RemindCursorPagination(CursorPagination):
    ordering = ("remind_at", "id")


class CreatedCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class FollowUpTaskViewSet(ScopedModelViewSet):
    """Follow-up tasks. Agents see the tasks they handle or gave; owners and supervisors the shop's.

    A task for another agent needs the shop's sub-accounts on. Open tasks can be changed, completed or cancelled
    by their handler, their creator, and the shop's owners and supervisors.
    """

    http_method_names = READ_CREATE_UPDATE
    queryset = FollowUpTask.objects.all()
    filterset_class = FollowUpTaskFilter
    pagination_class = RemindCursorPagination
    ordering_fields = ["remind_at", "id"]
    ordering = ["remind_at", "id"]
    write_roles = SHOP_STAFF
    action_roles = {"complete": SHOP_STAFF, "cancel": SHOP_STAFF}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return FollowUpTaskUpdateSerializer
        return FollowUpTaskSerializer

    def create_instance(self, data):
        return services.task_create(**data, created_by_id=self.request.user.pk, creator_agent_id=self.caller.agent_id)

    def update_instance(self, instance, data):
        return services.task_update(task=instance, creator_agent_id=self.caller.agent_id, **data)

    @extend_schema(request=None, responses={200: FollowUpTaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the task done (again: no change; 409 for a cancelled task)."""
        task = services.task_complete(task=self.get_object())
        return Response(FollowUpTaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: FollowUpTaskSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the task: no reminder goes out afterwards (again: no change; 409 for a done task)."""
        task = services.task_cancel(task=self.get_object())
        return Response(FollowUpTaskSerializer(task, context=self.get_serializer_context()).data)


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewMixin, viewsets.GenericViewSet):
    """The caller's reminders: follow-up tasks that fell due and buyer turns left unanswered too long."""

    http_method_names = READ_CREATE  # POST only for the ``read`` action: no create mixin
    queryset = Notification.objects.select_related("task", "shop")
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    pagination_class = CreatedCursorPagination
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    action_roles = {"read": SHOP_STAFF}

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark the notification read (reading it again keeps the first time)."""
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(self.get_serializer(notification).data)

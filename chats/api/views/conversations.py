from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backoffice.api.pagination import MessageCursorPagination, StartedCursorPagination
from backoffice.api.permissions import INTEGRATIONS, SHOP_STAFF
from backoffice.api.views import READ_CREATE, ScopedModelViewSet
from backoffice.errors import Conflict
from backoffice.tenancy import CallerRole
from chats import services
from chats.api.filtersets import ConversationFilter, MessageFilter
from chats.choices import ClosedBy, ConversationStatus, Sender
from chats.lifecycle.access import conversation_check_agent_acts
from chats.models import Conversation, Message
from chats.routing.queue import queue_position_expression
from evaluations.api.serializers import InviteRequestSerializer, RatingInviteSerializer
from evaluations.services import rating_invite_request_by_agent

from ..serializers import (
    ConversationSerializer,
    MessageSerializer,
    TransferResultSerializer,
    TransferSerializer,
)


class ConversationViewSet(ScopedModelViewSet):
    """Chats of buyers with shops. Agents see their own chats and their shop's queue."""

    http_method_names = READ_CREATE
    queryset = Conversation.objects.annotate(annotated_queue_position=queue_position_expression())
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    pagination_class = StartedCursorPagination
    ordering_fields = ["started_at", "id"]
    ordering = ["-started_at", "-id"]
    write_roles = INTEGRATIONS
    action_roles = {
        "transfer_to_human": INTEGRATIONS,
        "transfer": SHOP_STAFF,
        "close": SHOP_STAFF | INTEGRATIONS,
        "invites": SHOP_STAFF,
    }

    def create_instance(self, data):
        return services.conversation_start(**data)

    def _answer(self, conversation_id: int):
        # Not through the caller's scope: an agent who just transferred a chat away may no longer list it,
        # but is answered with the outcome of its own action.
        conversation = Conversation.objects.annotate(annotated_queue_position=queue_position_expression()).get(
            pk=conversation_id
        )
        return Response(self.get_serializer(conversation).data)

    @extend_schema(request=None, responses={200: TransferResultSerializer})
    @action(detail=True, methods=["post"], url_path="transfer-to-human")
    def transfer_to_human(self, request, pk=None):
        """The buyer clicked the transfer-to-human entry (409 when the entry is not shown for this chat)."""
        conversation = self.get_object()
        result = services.transfer_to_human(conversation_id=conversation.pk, actor_id=request.user.pk)
        return Response(TransferResultSerializer(result).data)

    @extend_schema(request=TransferSerializer, responses={200: ConversationSerializer})
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        """Hand the chat to another agent or to a group. Agents transfer their own chats."""
        conversation = self.get_object()
        conversation_check_agent_acts(caller=self.caller, conversation=conversation, action="transfer")
        serializer = TransferSerializer(
            data=request.data, context={**self.get_serializer_context(), "conversation": conversation}
        )
        serializer.is_valid(raise_exception=True)
        services.conversation_transfer(
            conversation_id=conversation.pk,
            to_agent=serializer.validated_data.get("agent"),
            to_group=serializer.validated_data.get("group"),
            actor_id=request.user.pk,
        )
        return self._answer(conversation.pk)

    @extend_schema(request=None, responses={200: ConversationSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """End the chat (the buyer through an integration, or shop staff). Closing an ended chat is harmless."""
        conversation = self.get_object()
        conversation_check_agent_acts(caller=self.caller, conversation=conversation, action="close")
        role = self.caller.role
        closed_by = {
            CallerRole.INTEGRATION: ClosedBy.BUYER,
            CallerRole.PLATFORM: ClosedBy.SYSTEM,
        }.get(role, ClosedBy.AGENT)
        services.conversation_close(conversation_id=conversation.pk, closed_by=closed_by, actor_id=request.user.pk)
        return self._answer(conversation.pk)

    @extend_schema(request=InviteRequestSerializer, responses={201: RatingInviteSerializer})
    @action(detail=True, methods=["post"])
    def invites(self, request, pk=None):
        """An agent asks the buyer for a rating (the ``agent`` channel, retired: 400 from its retirement date)."""
        conversation = self.get_object()
        conversation_check_agent_acts(caller=self.caller, conversation=conversation, action="invite")
        InviteRequestSerializer(data=request.data).is_valid(raise_exception=True)
        invite = rating_invite_request_by_agent(conversation=conversation)
        return Response(RatingInviteSerializer(invite).data, status=201)


@extend_schema(parameters=[OpenApiParameter("conversation_pk", int, OpenApiParameter.PATH)])
class MessageViewSet(ScopedModelViewSet):
    """Messages of one conversation, oldest first, cursor-paginated.

    Agents post as themselves in the chats they serve; integration clients post buyer messages and may import
    history with ``sent_at`` (naming ``agent`` for agent messages, ``history`` so the assistant stays silent).
    """

    http_method_names = READ_CREATE
    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    pagination_class = MessageCursorPagination
    write_roles = INTEGRATIONS | SHOP_STAFF

    @cached_property
    def conversation(self) -> Conversation:
        return get_object_or_404(Conversation.objects.for_caller(self.caller), pk=self.kwargs["conversation_pk"])

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.conversation  # noqa: B018 -- another shop's conversation answers 404 before any input is read

    def get_queryset(self):
        return super().get_queryset().filter(conversation=self.conversation)

    def create_instance(self, data):
        if self.caller.role in (CallerRole.INTEGRATION, CallerRole.PLATFORM):
            data.setdefault("sender", Sender.BUYER)
            return services.message_create(conversation=self.conversation, **data)
        # Shop staff post as themselves, now, in the chats they serve.
        if data.get("sender", Sender.AGENT) != Sender.AGENT:
            raise ValidationError({"sender": [_("Shop staff post messages as themselves.")]})
        if data.get("agent") is not None and data["agent"].pk != self.caller.agent_id:
            raise ValidationError({"agent": [_("Shop staff post messages as themselves.")]})
        if self.conversation.agent_id != self.caller.agent_id or self.conversation.status != ConversationStatus.HUMAN:
            raise Conflict(_("This chat is not being served by you."))
        return services.message_create(
            conversation=self.conversation,
            sender=Sender.AGENT,
            agent=self.conversation.agent,
            body=data["body"],
        )

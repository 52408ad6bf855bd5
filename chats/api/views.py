from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError

from backoffice.api.pagination import MessageCursorPagination, StartedCursorPagination
from backoffice.api.permissions import INTEGRATIONS, SHOP_STAFF
from backoffice.api.views import READ_CREATE, ScopedModelViewSet
from backoffice.tenancy import CallerRole
from chats import services
from chats.choices import Sender
from chats.filtersets import ConversationFilter, MessageFilter
from chats.models import Conversation, Message

from .serializers import ConversationSerializer, MessageSerializer


class ConversationViewSet(ScopedModelViewSet):
    """Chats of buyers with shops. Agents see their own chats and their shop's queue."""

    http_method_names = READ_CREATE
    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    pagination_class = StartedCursorPagination
    ordering_fields = ["started_at", "id"]
    ordering = ["-started_at", "-id"]
    write_roles = INTEGRATIONS

    def create_instance(self, data):
        return services.conversation_start(**data)


@extend_schema(parameters=[OpenApiParameter("conversation_pk", int, OpenApiParameter.PATH)])
class MessageViewSet(ScopedModelViewSet):
    """Messages of one conversation, oldest first, cursor-paginated.

    Agents post as themselves; integration clients post buyer messages and may import history with ``sent_at``
    (naming ``agent`` for agent messages).
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
        # Shop staff post as themselves, now.
        if data.get("sender", Sender.AGENT) != Sender.AGENT:
            raise ValidationError({"sender": [_("Shop staff post messages as themselves.")]})
        if data.get("agent") not in (None,) and data["agent"].pk != self.caller.agent_id:
            raise ValidationError({"agent": [_("Shop staff post messages as themselves.")]})
        return services.message_create(
            conversation=self.conversation,
            sender=Sender.AGENT,
            agent=self.conversation.shop.agents.get(pk=self.caller.agent_id),
            body=data["body"],
        )

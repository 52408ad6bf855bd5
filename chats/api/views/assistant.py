"""The service assistant: its knowledge base and synonyms, the knowledge gaps, and suggestions for agents."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from backoffice.api.pagination import PageNumberPagination
from backoffice.api.permissions import MANAGERS, SHOP_STAFF
from backoffice.api.tenancy import ScopedViewMixin
from backoffice.api.views import READ_WRITE, ScopedModelViewSet
from backoffice.tenancy import CallerRole
from chats import services
from chats.api.filtersets import FaqEntryFilter, SynonymGroupFilter
from chats.assistant.assist import conversation_suggestions
from chats.assistant.gaps import knowledge_gaps
from chats.models import Conversation, FaqEntry, SynonymGroup

from ..serializers.assistant import (
    FaqEntrySerializer,
    FaqEntryUpdateSerializer,
    KnowledgeGapQuerySerializer,
    KnowledgeGapSerializer,
    SuggestionsSerializer,
    SynonymGroupSerializer,
    SynonymGroupUpdateSerializer,
)


class FaqEntryViewSet(ScopedModelViewSet):
    """The service assistant's knowledge base. Owners and supervisors edit it; agents read it."""

    http_method_names = READ_WRITE
    queryset = FaqEntry.objects.all()
    filterset_class = FaqEntryFilter
    ordering_fields = ["id", "question", "created_at"]
    ordering = ["id"]
    write_roles = MANAGERS

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return FaqEntryUpdateSerializer
        return FaqEntrySerializer

    def create_instance(self, data):
        return services.faq_entry_create(**data)

    def update_instance(self, instance, data):
        return services.faq_entry_update(entry=instance, **data)

    def destroy_instance(self, instance):
        services.faq_entry_delete(entry=instance)


class SynonymGroupViewSet(ScopedModelViewSet):
    """A shop's synonyms (e.g. 打底衫 / 内搭): the assistant reads every word of a group as the same word.

    Owners and supervisors edit them; agents read them.
    """

    http_method_names = READ_WRITE
    queryset = SynonymGroup.objects.all()
    filterset_class = SynonymGroupFilter
    ordering_fields = ["id", "updated_at"]
    ordering = ["id"]
    write_roles = MANAGERS

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return SynonymGroupUpdateSerializer
        return SynonymGroupSerializer

    def create_instance(self, data):
        return services.synonym_group_create(**data)

    def update_instance(self, instance, data):
        return services.synonym_group_update(group=instance, **data)

    def destroy_instance(self, instance):
        services.synonym_group_delete(group=instance)


class KnowledgeGapPagination(PageNumberPagination):
    """Pages of groups, with the period and whether only the newest questions were grouped."""

    def paginate_gaps(self, gaps, request, view):
        self.gaps = gaps
        return self.paginate_queryset(gaps.groups, request, view=view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data = {
            "count": response.data["count"],
            "next": response.data["next"],
            "previous": response.data["previous"],
            "shop": self.gaps.shop_id,
            "date_from": self.gaps.date_from.isoformat(),
            "date_to": self.gaps.date_to.isoformat(),
            "sampled": self.gaps.sampled,
            "results": response.data["results"],
        }
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {
            **{key: value for key, value in paginated["properties"].items() if key != "results"},
            "shop": {"type": "integer"},
            "date_from": {"type": "string", "format": "date"},
            "date_to": {"type": "string", "format": "date"},
            "sampled": {
                "type": "boolean",
                "description": "More questions than the cap (2,000): only the newest were grouped.",
            },
            "results": paginated["properties"]["results"],
        }
        paginated["required"] = ["count", "results", "shop", "date_from", "date_to", "sampled"]
        return paginated


class KnowledgeGapViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """Knowledge gaps: buyer questions the assistant answered with the fallback, grouped by similarity, most
    frequent first. Owners, supervisors and platform staff; dates are the shop's local dates (both included)."""

    http_method_names = ["get", "head", "options"]
    queryset = FaqEntry.objects.none()
    serializer_class = KnowledgeGapSerializer
    filter_backends = []
    pagination_class = KnowledgeGapPagination
    action_roles = {"list": MANAGERS}

    @extend_schema(parameters=[KnowledgeGapQuerySerializer], responses=KnowledgeGapSerializer(many=True))
    def list(self, request):
        query = KnowledgeGapQuerySerializer(data=request.query_params, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        gaps = knowledge_gaps(
            shop=query.validated_data["shop"],
            date_from=query.validated_data.get("date_from"),
            date_to=query.validated_data.get("date_to"),
        )
        page = self.paginator.paginate_gaps(gaps, request, self)
        return self.get_paginated_response(KnowledgeGapSerializer(page, many=True).data)


@extend_schema(parameters=[OpenApiParameter("conversation_pk", int, OpenApiParameter.PATH)])
class ConversationSuggestionsViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """What an agent could answer the buyer's latest turn with: quick phrases and FAQ answers ranked by its words,
    and the items the buyer viewed. For the chat's agent and the shop's owners and supervisors (another agent's chat
    answers 404, as it is not theirs to see)."""

    http_method_names = ["get", "head", "options"]
    queryset = Conversation.objects.all()
    serializer_class = SuggestionsSerializer
    filter_backends = []
    pagination_class = None
    lookup_url_kwarg = "conversation_pk"
    action_roles = {"retrieve": SHOP_STAFF}

    def get_queryset(self):
        conversations = super().get_queryset().only("pk", "shop_id", "buyer_id", "agent_id")
        if self.caller.role == CallerRole.AGENT:
            # Agents see their shop's queue too, but suggestions are for the chats they serve.
            conversations = conversations.filter(agent_id=self.caller.agent_id)
        return conversations

    def retrieve(self, request, conversation_pk=None):
        suggestions = conversation_suggestions(caller=self.caller, conversation=self.get_object())
        return Response(SuggestionsSerializer(suggestions).data)

"""The service assistant's knowledge base."""

from backoffice.api.permissions import MANAGERS
from backoffice.api.views import READ_WRITE, ScopedModelViewSet
from chats import services
from chats.api.filtersets import FaqEntryFilter
from chats.models import FaqEntry

from ..serializers import FaqEntrySerializer, FaqEntryUpdateSerializer


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

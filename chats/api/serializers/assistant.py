"""The service assistant's knowledge base."""

from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer
from chats.models import FaqEntry


class FaqEntrySerializer(ScopedModelSerializer):
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=50, allow_blank=True), max_length=50, required=False, default=list
    )

    class Meta:
        model = FaqEntry
        fields = ["id", "shop", "question", "keywords", "answer", "enabled", "created_at"]
        read_only_fields = ["created_at"]


class FaqEntryUpdateSerializer(FaqEntrySerializer):
    class Meta(FaqEntrySerializer.Meta):
        read_only_fields = ["created_at", "shop"]

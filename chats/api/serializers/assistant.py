"""The service assistant: its knowledge base and synonyms, knowledge gaps, and suggestions for agents."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField, caller_default_shop
from backoffice.callers import caller_for
from backoffice.validators import validate_day
from chats.assistant.faq import (
    KEYWORD_MAX_LENGTH,
    KEYWORDS_MAX,
    SIMILAR_QUESTION_MAX_LENGTH,
    SIMILAR_QUESTIONS_MAX,
    SYNONYM_WORD_MAX_LENGTH,
    SYNONYM_WORDS_MAX,
)
from chats.models import FaqEntry, SynonymGroup
from shops.models import Shop


class FaqEntrySerializer(ScopedModelSerializer):
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=KEYWORD_MAX_LENGTH, allow_blank=True),
        max_length=KEYWORDS_MAX,
        required=False,
        default=list,
    )
    similar_questions = serializers.ListField(
        child=serializers.CharField(max_length=SIMILAR_QUESTION_MAX_LENGTH, allow_blank=True),
        max_length=SIMILAR_QUESTIONS_MAX,
        required=False,
        default=list,
        help_text=gettext_lazy("Other ways buyers ask the same question (相似问法)."),
    )

    class Meta:
        model = FaqEntry
        fields = [
            "id",
            "shop",
            "question",
            "similar_questions",
            "keywords",
            "answer",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class FaqEntryUpdateSerializer(FaqEntrySerializer):
    class Meta(FaqEntrySerializer.Meta):
        read_only_fields = ["created_at", "updated_at", "shop"]


class SynonymGroupSerializer(ScopedModelSerializer):
    words = serializers.ListField(
        child=serializers.CharField(max_length=SYNONYM_WORD_MAX_LENGTH, allow_blank=True),
        max_length=SYNONYM_WORDS_MAX,
        help_text=gettext_lazy("Two or more words that mean the same, e.g. 打底衫 and 内搭."),
    )

    class Meta:
        model = SynonymGroup
        fields = ["id", "shop", "words", "updated_at"]
        read_only_fields = ["updated_at"]


class SynonymGroupUpdateSerializer(SynonymGroupSerializer):
    class Meta(SynonymGroupSerializer.Meta):
        read_only_fields = ["updated_at", "shop"]


# --- knowledge gaps -------------------------------------------------------------------------------------------------


def _day(value):
    try:
        validate_day(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None
    return value


class KnowledgeGapQuerySerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(
        queryset=Shop.objects.all(),
        required=False,
        help_text=gettext_lazy("Optional when the caller belongs to one shop."),
    )
    date_from = serializers.DateField(
        required=False, help_text=gettext_lazy("First local date (default: six days before date_to).")
    )
    date_to = serializers.DateField(
        required=False, help_text=gettext_lazy("Last local date, included (default: today).")
    )

    def validate_date_from(self, value):
        return _day(value)

    def validate_date_to(self, value):
        return _day(value)

    def validate(self, attrs):
        shop = caller_default_shop(caller_for(self.context["request"].user), attrs.get("shop"))
        if shop is None:
            raise serializers.ValidationError({"shop": [_("This field is required.")]})
        attrs["shop"] = shop
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"date_to": [_("Must not be before date_from.")]})
        return attrs


class KnowledgeGapSerializer(serializers.Serializer):
    label = serializers.CharField(help_text=gettext_lazy("The group's most common question."))
    count = serializers.IntegerField(help_text=gettext_lazy("Questions of the group that got the fallback."))
    examples = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("Up to five distinct questions, most common first.")
    )
    words = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("The group's top words."))
    first_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField()


# --- agent assist ---------------------------------------------------------------------------------------------------


class PhraseSuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    shortcut = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    text = serializers.CharField()
    score = serializers.FloatField(help_text=gettext_lazy("Confidence, 0..1."))


class FaqSuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    answer = serializers.CharField()
    score = serializers.FloatField(help_text=gettext_lazy("Confidence, 0..1."))


class ItemViewedSerializer(serializers.Serializer):
    item_id = serializers.CharField()
    item_title = serializers.CharField(allow_blank=True)
    viewed_at = serializers.DateTimeField()


class SuggestionsSerializer(serializers.Serializer):
    conversation = serializers.IntegerField(source="conversation_id")
    turn = serializers.CharField(
        allow_blank=True,
        help_text=gettext_lazy("The buyer's messages since the last agent or assistant message, joined."),
    )
    quick_phrases = PhraseSuggestionSerializer(many=True)
    faq = FaqSuggestionSerializer(many=True)
    items = ItemViewedSerializer(many=True)

from django.utils.translation import gettext as _
from rest_framework import serializers

from backoffice.api.serializers import ModelSerializer
from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField, caller_default_shop
from chats.models import Conversation
from evaluations.choices import InviteChannel, ReceptionTier, ServedBy
from evaluations.metrics import PEER_METRICS
from evaluations.models import DailyMetric, Evaluation, RatingInvite
from shops.choices import ServicePhase
from shops.models import Shop


class RatingInviteSerializer(ScopedModelSerializer):
    class Meta:
        model = RatingInvite
        fields = ["id", "conversation", "channel", "status", "agent", "sent_at", "expires_at", "answered_at"]
        read_only_fields = fields


class InviteRequestSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=InviteChannel.choices)

    def validate_channel(self, channel):
        if channel != InviteChannel.AGENT:
            raise serializers.ValidationError(_("Only the agent channel is requested here; the system sends its own."))
        return channel


class EvaluationSerializer(ScopedModelSerializer):
    """``invite`` answers a rating invite; ``conversation`` alone is the buyer's own rating of an ended chat."""

    # ``null`` on a buyer's own rating, so the field is nullable; a ``null`` sent in is the same as none.
    invite = ScopedPrimaryKeyRelatedField(queryset=RatingInvite.objects.all(), required=False, allow_null=True)
    conversation = ScopedPrimaryKeyRelatedField(queryset=Conversation.objects.all(), required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=20, allow_blank=True), max_length=10, required=False, default=list
    )
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        model = Evaluation
        fields = ["id", "invite", "conversation", "channel", "score", "tags", "comment", "answered_at"]
        read_only_fields = ["channel", "answered_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "invite" in attrs and attrs["invite"] is None:
            del attrs["invite"]
        if ("invite" in attrs) == ("conversation" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give an invite, or a conversation for a rating without one.")]}
            )
        return attrs


class DailyMetricSerializer(ModelSerializer):
    """One day of a shop, agent, group or phase: rates (``null`` when their denominator is 0) beside their counts."""

    phase = serializers.ChoiceField(choices=ServicePhase.choices, allow_null=True, read_only=True)
    served_by = serializers.ChoiceField(choices=ServedBy.choices, allow_null=True, read_only=True)

    class Meta:
        model = DailyMetric
        fields = [
            "id",
            "date",
            "shop",
            "scope",
            "agent",
            "group",
            "phase",
            "served_by",
            "conversations",
            "response_rate_3m",
            "avg_response_seconds",
            "avg_first_response_seconds",
            "satisfaction_rate",
            "ratings",
            "fcr_3d",
            "resolution_rate",
            "transfer_requests",
            "transfer_rate",
            "fast_response_badge",
            "stars",
            "final",
            # counts beside the rates, and the extra figures
            "first_turns_in_hours",
            "first_turns_answered_3m",
            "responded_turns",
            "response_seconds_total",
            "first_responses",
            "first_response_seconds_total",
            "unanswered_turns",
            "satisfied_ratings",
            "fcr_services",
            "fcr_repeated",
            "fcr_open",
            "resolution_seekers",
            "platform_consultations",
            "disputes",
            "complaint_interventions",
            "transfer_entry_shown",
            "bot_conversations_unexposed",
            "transfer_requests_unexposed",
            "transfer_rate_unexposed",
            "transfer_requests_typed",
            "bot_conversations",
            "bot_resolved",
            "bot_resolution_rate",
            "bot_replies",
            "bot_fallbacks",
            "fallback_rate",
            "bot_clarifications",
            "reception_volume",
            "reception_tier",
            "first_turns_in_hours_7d",
            "first_turns_answered_3m_7d",
            "response_rate_3m_7d",
            "ratings_7d",
            "satisfied_ratings_7d",
            "satisfaction_rate_7d",
            "satisfaction_final",
            "fcr_final",
            "computed_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phase"] = instance.phase or None
        data["served_by"] = instance.served_by or None
        return data


class PeersQuerySerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all(), required=False)
    date = serializers.DateField()

    def validate(self, attrs):
        attrs["shop"] = caller_default_shop(self.context["caller"], attrs.get("shop"))
        if attrs["shop"] is None:
            raise serializers.ValidationError({"shop": [_("This field is required.")]})
        return attrs


class PeerMetricSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    peer_median = serializers.FloatField(allow_null=True)
    percentile = serializers.FloatField(allow_null=True, help_text="Share of peers with a lower value, ties half.")
    peers = serializers.IntegerField()
    higher_is_better = serializers.BooleanField()


PeerMetricsSerializer = type(
    "PeerMetricsSerializer",
    (serializers.Serializer,),
    {name: PeerMetricSerializer() for name in PEER_METRICS},
)


class PeersSerializer(serializers.Serializer):
    """The shop's metrics of a day beside the other shops of its industry and reception tier."""

    shop = serializers.IntegerField()
    date = serializers.DateField()
    industry = serializers.CharField()
    reception_tier = serializers.ChoiceField(choices=ReceptionTier.choices)
    reception_volume = serializers.FloatField(allow_null=True)
    fast_response_badge = serializers.BooleanField()
    stars = serializers.IntegerField()
    final = serializers.BooleanField()
    metrics = PeerMetricsSerializer()

from django.utils.translation import gettext as _
from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from chats.models import Conversation
from evaluations.choices import InviteChannel
from evaluations.models import Evaluation, RatingInvite


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

    invite = ScopedPrimaryKeyRelatedField(queryset=RatingInvite.objects.all(), required=False)
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
        if ("invite" in attrs) == ("conversation" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give an invite, or a conversation for a rating without one.")]}
            )
        return attrs

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from agents.choices import AgentStatus
from agents.models import Agent, RoutingGroup
from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField


class AgentSerializer(ScopedModelSerializer):
    username = serializers.CharField(source="user.username", max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    groups = ScopedPrimaryKeyRelatedField(
        many=True, source="routing_groups", queryset=RoutingGroup.objects.all(), required=False
    )

    class Meta:
        model = Agent
        fields = [
            "id",
            "shop",
            "username",
            "password",
            "display_name",
            "role",
            "capacity",
            "groups",
            "status",
            "active_chats",
            "status_changed_at",
            "last_assigned_at",
            "created_at",
        ]
        read_only_fields = ["status", "active_chats", "status_changed_at", "last_assigned_at", "created_at"]


class AgentUpdateSerializer(AgentSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    password = serializers.CharField(write_only=True, max_length=128, required=False, style={"input_type": "password"})

    class Meta(AgentSerializer.Meta):
        read_only_fields = [*AgentSerializer.Meta.read_only_fields, "shop"]


class AgentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)


class RoutingGroupSerializer(ScopedModelSerializer):
    members = ScopedPrimaryKeyRelatedField(many=True, queryset=Agent.objects.all(), required=False)

    class Meta:
        model = RoutingGroup
        fields = ["id", "shop", "name", "phase", "is_default", "members", "created_at"]
        read_only_fields = ["created_at"]
        validators = []  # name uniqueness and the single default are the service's rules


class RoutingGroupUpdateSerializer(RoutingGroupSerializer):
    class Meta(RoutingGroupSerializer.Meta):
        read_only_fields = ["created_at", "shop"]

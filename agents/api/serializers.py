from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from agents.choices import AgentStatus
from agents.models import Agent, AutoReplyRule, QuickPhrase, RoutingGroup
from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from shops.models import Shop


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


class QuickPhraseSerializer(ScopedModelSerializer):
    """``owner`` is the caller for personal phrases; platform staff name it."""

    owner = ScopedPrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)

    class Meta:
        model = QuickPhrase
        fields = [
            "id",
            "shop",
            "scope",
            "owner",
            "shortcut",
            "title",
            "content",
            "category",
            "usage_count",
            "last_used_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["usage_count", "last_used_at", "created_at", "updated_at"]
        validators = []  # shortcut uniqueness per scope is the service's rule


class QuickPhraseUpdateSerializer(QuickPhraseSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # team phrases have none

    class Meta(QuickPhraseSerializer.Meta):
        read_only_fields = [*QuickPhraseSerializer.Meta.read_only_fields, "shop", "scope"]


class QuickPhraseExportSerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all(), required=False)
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], default="csv")


class QuickPhraseImportSerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all(), required=False)
    file = serializers.FileField(allow_empty_file=False)


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=gettext_lazy("Row number in the file; the header is row 1."))
    message = serializers.CharField()


class QuickPhraseImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)


class AutoReplyRuleSerializer(ScopedModelSerializer):
    """No ``agent``: the shop's team rule; with ``agent``: that agent's personal rule, which wins."""

    agent = ScopedPrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)

    class Meta:
        model = AutoReplyRule
        fields = ["id", "shop", "agent", "trigger", "threshold", "content", "enabled", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []  # one rule per trigger and scope is the service's rule


class AutoReplyRuleUpdateSerializer(AutoReplyRuleSerializer):
    agent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # team rules have none

    class Meta(AutoReplyRuleSerializer.Meta):
        read_only_fields = [*AutoReplyRuleSerializer.Meta.read_only_fields, "shop", "trigger"]


class AutoReplyDefaultsSerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all())
    agent = ScopedPrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)

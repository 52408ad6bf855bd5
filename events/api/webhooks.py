"""Webhook subscriptions and their delivery logs: ``/webhooks/``, ``/webhooks/{id}/rotate-secret/``,
``/webhooks/{id}/deliveries/`` and ``…/deliveries/{delivery_id}/redeliver/``.

For platform staff, integration clients (their shops) and shop owners. Supervisors and agents get 403 on every
route (as on other owner-only resources: exports for agents), another shop's subscription answers 404. The secret
is in the answer of ``POST /webhooks/`` and of ``rotate-secret`` only.
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from backoffice.api.pagination import CursorPagination
from backoffice.api.permissions import INTEGRATIONS
from backoffice.api.tenancy import (
    ScopedFilterSet,
    ScopedModelSerializer,
    ScopedPrimaryKeyRelatedField,
    ScopedViewMixin,
    caller_default_shop,
)
from backoffice.api.views import READ_WRITE, ScopedModelViewSet
from backoffice.tenancy import CallerRole
from events import selectors, services
from events.choices import EventType
from events.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from shops.models import Shop

WEBHOOK_ROLES = INTEGRATIONS | {CallerRole.OWNER}


# --- serializers ----------------------------------------------------------------------------------------------------


class WebhookSubscriptionSerializer(ScopedModelSerializer):
    """A webhook subscription (its secret is answered by create and rotate-secret only)."""

    shop = ScopedPrimaryKeyRelatedField(
        queryset=Shop.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text=_("Empty: every shop of the caller (an owner's subscription is stored with the owner's shop)."),
    )
    url = serializers.URLField(max_length=500, help_text=_("http or https; must resolve to public addresses."))
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        max_length=len(EventType.choices),
        required=False,
        default=list,
        help_text=_("Event types to send; empty: every type, including types added later."),
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "shop",
            "url",
            "events",
            "enabled",
            "consecutive_failures",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["consecutive_failures", "disabled_reason", "disabled_at", "created_at", "updated_at"]


class WebhookSubscriptionUpdateSerializer(WebhookSubscriptionSerializer):
    """A subscription's changes: its shop stays."""

    shop = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    url = serializers.URLField(max_length=500, required=False)


class WebhookSubscriptionSecretSerializer(WebhookSubscriptionSerializer):
    """A subscription with its signing secret: the answer of create and rotate-secret only."""

    secret = serializers.CharField(read_only=True, help_text=_("HMAC-SHA256 key of X-Backoffice-Signature."))

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event to one subscription: its attempts so far and when the next one is due."""

    event = serializers.IntegerField(source="event_position", read_only=True, help_text=_("The event's id."))
    event_type = serializers.ChoiceField(choices=EventType.choices, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "response_ms",
            "response_body",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


# --- filters --------------------------------------------------------------------------------------------------------


class WebhookFilter(ScopedFilterSet):
    shop = filters.ModelChoiceFilter(queryset=Shop.objects.all())

    class Meta:
        model = WebhookSubscription
        fields = ["shop", "enabled"]


class WebhookDeliveryFilter(ScopedFilterSet):
    status = filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status"]


# --- views ----------------------------------------------------------------------------------------------------------


class WebhookSubscriptionViewSet(ScopedModelViewSet):
    """Where a shop's events are POSTed, signed (docs/webhooks.md). Owners, integration clients and platform staff."""

    http_method_names = READ_WRITE
    queryset = WebhookSubscription.objects.all()
    filterset_class = WebhookFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["id"]
    lookup_value_regex = r"\d+"
    write_roles = WEBHOOK_ROLES
    action_roles = {"list": WEBHOOK_ROLES, "retrieve": WEBHOOK_ROLES, "rotate_secret": WEBHOOK_ROLES}

    def get_serializer_class(self):
        if self.action in ("create", "rotate_secret"):
            return WebhookSubscriptionSecretSerializer
        if self.action in ("update", "partial_update"):
            return WebhookSubscriptionUpdateSerializer
        return WebhookSubscriptionSerializer

    @extend_schema(request=WebhookSubscriptionSerializer, responses={201: WebhookSubscriptionSecretSerializer})
    def create(self, request, *args, **kwargs):
        """A new subscription; the answer carries its ``secret``, shown this once."""
        return super().create(request, *args, **kwargs)

    def create_instance(self, data):
        shop = data.pop("shop", None)
        if shop is None and self.caller.role == CallerRole.OWNER:
            shop = caller_default_shop(self.caller)  # an owner's "all my shops" is the one shop
        return services.webhook_subscription_create(created_by=self.request.user, shop=shop, **data)

    def update_instance(self, instance, data):
        return services.webhook_subscription_update(subscription=instance, **data)

    def destroy_instance(self, instance):
        services.webhook_subscription_delete(subscription=instance)

    @extend_schema(request=None, responses=WebhookSubscriptionSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, in the answer; the old one stops signing at once."""
        subscription = services.webhook_secret_rotate(subscription=self.get_object())
        return Response(WebhookSubscriptionSecretSerializer(subscription, context=self.get_serializer_context()).data)


class DeliveryLogPagination(CursorPagination):
    ordering = ("-event_id",)  # unique within one subscription


class WebhookDeliveryViewSet(mixins.ListModelMixin, ScopedViewMixin, viewsets.GenericViewSet):
    """A subscription's delivery log, newest event first (filter ``status``), and a manual redelivery."""

    http_method_names = ["get", "post", "head", "options"]
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    filter_backends = [filters.DjangoFilterBackend]
    pagination_class = DeliveryLogPagination
    # ``pk`` is the subscription's (``/webhooks/{id}/deliveries/``), ``delivery_id`` the delivery's.
    lookup_url_kwarg = "delivery_id"
    write_roles = WEBHOOK_ROLES
    action_roles = {"list": WEBHOOK_ROLES, "redeliver": WEBHOOK_ROLES}

    def lookup_url_kwarg_present(self) -> bool:
        # Every route names a subscription: roles are checked once it is found, so another shop's id is a 404.
        return True

    def subscription(self) -> WebhookSubscription:
        if not hasattr(self, "_subscription"):
            found = selectors.webhook_list(caller=self.caller).filter(pk=self.kwargs.get("pk")).first()
            if found is None:
                raise NotFound()
            self.check_object_permissions(self.request, found)
            self._subscription = found
        return self._subscription

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return selectors.webhook_deliveries_list(subscription=self.subscription())

    @extend_schema(request=None, responses=WebhookDeliverySerializer)
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None, delivery_id=None):
        """One attempt now (whatever the delivery's status); answers the delivery after it. 409 while another attempt
        of it is under way."""
        delivery = self.get_object()
        services.webhook_delivery_redeliver(delivery=delivery)
        # Gone only if its subscription was deleted meanwhile.
        return Response(self.get_serializer(get_object_or_404(self.get_queryset(), pk=delivery.pk)).data)

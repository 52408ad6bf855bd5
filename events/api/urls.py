from django.urls import path
from rest_framework.routers import SimpleRouter

from .feed import EventFeedView
from .webhooks import WebhookDeliveryViewSet, WebhookSubscriptionViewSet

router = SimpleRouter()
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = [
    path("events/", EventFeedView.as_view(), name="event-feed"),
    *router.urls,
    path(
        "webhooks/<int:pk>/deliveries/",
        WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        WebhookDeliveryViewSet.as_view({"post": "redeliver"}),
        name="webhook-delivery-redeliver",
    ),
]

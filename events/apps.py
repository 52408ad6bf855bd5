from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = _("Events and webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .live import live_nudge
        from .outbox import consumer_register
        from .tasks import webhooks_wake

        # After every commit that stored events: wake the webhook dispatcher (when some subscription is enabled).
        consumer_register(webhooks_wake)
        # ... and the live hubs of the ASGI processes (events.live).
        consumer_register(live_nudge)

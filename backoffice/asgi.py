"""ASGI entry point: HTTP (the Django app, as under WSGI) and WebSocket (``/ws/v1/events/``) on one port."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.base")
django_application = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from events.api.ws import EventsConsumer  # noqa: E402

websocket_urlpatterns = [path("ws/v1/events/", EventsConsumer.as_asgi())]


class SameSiteOrNoOrigin(OriginValidator):
    """A browser's WebSocket carries its page's Origin: only this site's own hosts (``ALLOWED_HOSTS``) may open one,
    so another site cannot ride a logged-in admin's session cookie. Clients that send no Origin (apps, servers)
    pass and authenticate with their token in the first frame."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def _allowed_origins() -> list[str]:
    # ALLOWED_HOSTS patterns (".example.com", "*") mean the same here; DEBUG with none allows localhost, as Django does.
    return list(settings.ALLOWED_HOSTS) or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])


application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": SameSiteOrNoOrigin(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), _allowed_origins()),
    }
)

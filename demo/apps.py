from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data and its commands (``seed_demo``, ``ensure_demo_admin``); the top layer, with no models."""

    name = "demo"
    verbose_name = _("Demo data")

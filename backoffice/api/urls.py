from django.urls import include, path

from .auth import TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("", include("shops.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("chats.api.urls")),
    path("", include("evaluations.api.urls")),
    path("", include("events.api.urls")),
]

from django.urls import include, path
from rest_framework.authtoken.views import ObtainAuthToken

urlpatterns = [
    path("auth/token/", ObtainAuthToken.as_view(), name="auth-token"),
    path("", include("shops.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("chats.api.urls")),
]

"""``POST /api/v1/auth/token/``: a username and password for an API token."""

from django.contrib.auth.signals import user_logged_in
from rest_framework import parsers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from backoffice.security import lockout_response, login_locked

from .parsers import JSONParser


class TokenView(ObtainAuthToken):
    """DRF's token view with the project's hardened JSON parser, behind the login lockout (django-axes).

    A locked (username, client IP) answers 429 before any password is checked; each failure is counted by
    axes through Django's ``user_login_failed`` signal, and a success is a login like the admin's
    (``user_logged_in``: ``last_login`` is set and the pair's failures are forgotten).
    """

    parser_classes = (JSONParser, parsers.FormParser, parsers.MultiPartParser)

    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or "\x00" in username:
            username = None  # not a username at all: the serializer answers 400 before any lookup
        if login_locked(request._request, username):
            return lockout_response(request._request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

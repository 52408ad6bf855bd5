"""Login protection: what a client locked out by django-axes is told, on the admin and on the token endpoint."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_lockout_message
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render


def _retry_after_seconds(request: HttpRequest) -> int | None:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else None


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """429 with a clear message: JSON for the API, the admin's own page for the admin login."""
    message = str(get_lockout_message())
    retry_after = _retry_after_seconds(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "login_locked"}, status=429)
    else:
        response = render(request, "backoffice/lockout.html", {"message": message}, status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def login_locked(request: HttpRequest, username: str | None) -> bool:
    """Whether ``username`` is locked out from the client address of ``request`` (the plain Django request)."""
    return AxesProxyHandler.is_locked(request, credentials={"username": username or ""})

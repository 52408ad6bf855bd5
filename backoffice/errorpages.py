"""Error pages: the API answers in JSON even where no API view was reached (an unknown path, a crash)."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {"detail": _("Something went wrong on our side; it has been logged."), "code": "error"}, status=500
        )
    return defaults.server_error(request)

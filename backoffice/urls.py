from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from health_check.views import HealthCheckView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("backoffice.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Health: the web process (database, cache, media storage), and the Celery workers (a broadcast ping, so it
    # needs a broker with remote control such as Redis; the filesystem broker of local runs has none).
    path(
        "health/",
        HealthCheckView.as_view(
            checks=["health_check.checks.Database", "health_check.checks.Cache", "health_check.checks.Storage"]
        ),
        name="health",
    ),
    path("health/worker/", HealthCheckView.as_view(checks=["health_check.contrib.celery.Ping"]), name="health-worker"),
]

# Unknown API paths (an id that is not a number, say) and crashes answer JSON under /api/, HTML elsewhere.
handler404 = "backoffice.errorpages.page_not_found"
handler500 = "backoffice.errorpages.server_error"

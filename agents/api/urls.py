from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("agents", views.AgentViewSet, basename="agent")
router.register("routing-groups", views.RoutingGroupViewSet, basename="routing-group")

urlpatterns = router.urls

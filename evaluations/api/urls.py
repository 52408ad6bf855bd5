from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("evaluation-invites", views.RatingInviteViewSet, basename="evaluation-invite")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("metrics/daily", views.DailyMetricViewSet, basename="metrics-daily")
router.register("metrics/peers", views.ShopPeersViewSet, basename="metrics-peers")

urlpatterns = router.urls

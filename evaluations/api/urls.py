from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("evaluation-invites", views.RatingInviteViewSet, basename="evaluation-invite")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")

urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("agents", views.AgentViewSet, basename="agent")
router.register("routing-groups", views.RoutingGroupViewSet, basename="routing-group")
router.register("quick-phrases", views.QuickPhraseViewSet, basename="quick-phrase")
router.register("auto-replies", views.AutoReplyRuleViewSet, basename="auto-reply")

urlpatterns = router.urls

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("shops", views.ShopViewSet, basename="shop")
router.register("buyers", views.BuyerViewSet, basename="buyer")
router.register("orders", views.OrderViewSet, basename="order")
router.register("footprints", views.FootprintViewSet, basename="footprint")
router.register("after-sales-events", views.AfterSalesEventViewSet, basename="after-sales-event")

urlpatterns = [
    *router.urls,
    path(
        "shops/<int:shop_id>/buyers/<int:buyer_id>/panel/",
        views.BuyerPanelView.as_view(),
        name="shop-buyer-panel",
    ),
]

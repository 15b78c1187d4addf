from django.urls import path
from rest_framework.routers import SimpleRouter

from coldchain.api import views

router = SimpleRouter()
router.register("shipments", views.ShipmentViewSet, basename="api-shipment")
router.register("parties", views.PartyViewSet, basename="api-party")
router.register("products", views.ProductViewSet, basename="api-product")
router.register("devices", views.DeviceViewSet, basename="api-device")
router.register("readings", views.ReadingViewSet, basename="api-reading")
router.register("assessments", views.AssessmentViewSet, basename="api-assessment")
router.register("alerts", views.AlertViewSet, basename="api-alert")
router.register("models", views.ModelVersionViewSet, basename="api-model")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    *router.urls,
]

from django.urls import path
from rest_framework.routers import SimpleRouter

from coldchain.api import contract_views, views, webhook_views

router = SimpleRouter()
router.register("shipments", views.ShipmentViewSet, basename="api-shipment")
router.register("parties", views.PartyViewSet, basename="api-party")
router.register("products", views.ProductViewSet, basename="api-product")
router.register("devices", views.DeviceViewSet, basename="api-device")
router.register("readings", views.ReadingViewSet, basename="api-reading")
router.register("assessments", views.AssessmentViewSet, basename="api-assessment")
router.register("alerts", views.AlertViewSet, basename="api-alert")
router.register("models", views.ModelVersionViewSet, basename="api-model")
router.register("contracts", contract_views.ContractViewSet, basename="api-contract")
router.register(
    "contract-actions", contract_views.ContractActionViewSet, basename="api-contract-action"
)
router.register("claims", contract_views.ClaimViewSet, basename="api-claim")
router.register("payments", contract_views.PaymentViewSet, basename="api-payment")
router.register("webhooks", webhook_views.WebhookEndpointViewSet, basename="api-webhook")
router.register(
    "webhook-deliveries", webhook_views.WebhookDeliveryViewSet, basename="api-webhook-delivery"
)

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    *router.urls,
]

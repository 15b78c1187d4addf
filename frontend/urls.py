from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.fleet_page, name="fleet"),
    path("fleet/rows", views.fleet_rows, name="fleet-rows"),
    path("shipments/<slug:reference>/", views.shipment_page, name="shipment"),
    path("shipments/<slug:reference>/live", views.shipment_live, name="shipment-live"),
    path(
        "shipments/<slug:reference>/excursions",
        views.shipment_excursions,
        name="shipment-excursions",
    ),
    path(
        "shipments/<slug:reference>/series.json", views.shipment_series_json, name="shipment-series"
    ),
    path("shipments/<slug:reference>/report.pdf", views.shipment_report, name="shipment-report"),
    path("shipments/<slug:reference>/release", views.release_sign_view, name="shipment-release"),
    path(
        "shipments/<slug:reference>/claims/<int:claim_id>/evidence.json",
        views.claim_evidence,
        name="claim-evidence",
    ),
    path("alerts/", views.alerts_page, name="alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        views.alert_acknowledge_view,
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/comment", views.alert_comment_view, name="alert-comment"),
    path("ledger/", views.ledger_page, name="ledger"),
    path("devices/", views.devices_page, name="devices"),
    path("devices/<str:device_id>/revoke", views.device_revoke_view, name="device-revoke"),
    path("models/", views.models_page, name="models"),
]

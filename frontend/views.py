"""Dashboard pages. Thin: each reads through ``frontend.selectors`` and renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from coldchain.access import acts_as_staff
from coldchain.models import Alert, Shipment
from devices.models import Device
from devices.services import device_revoke
from frontend.selectors.alerts import inbox_alerts
from frontend.selectors.devices import devices_with_rejections
from frontend.selectors.ledger import (
    entry_kinds,
    recent_checkpoints,
    visible_entries,
    witness_vkeys,
)
from frontend.selectors.models import model_versions
from frontend.selectors.series import shipment_series
from frontend.selectors.shipments import (
    FleetFilter,
    fleet_shipments,
    latest_assessment,
    latest_readings,
    shipment_alerts,
    shipment_for,
)
from ledger.log_key import log_vkey


def _fleet_context(request: HttpRequest) -> dict:
    fleet_filter = FleetFilter.from_query(request.GET)
    return {
        "shipments": fleet_shipments(request.user, fleet_filter),
        "filter": fleet_filter,
        "statuses": Shipment.Status.choices,
        "query_string": request.GET.urlencode(),
        "now": timezone.now(),
    }


@login_required
def fleet_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/fleet.html", _fleet_context(request))


@login_required
def fleet_rows(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/_fleet_rows.html", _fleet_context(request))


def _shipment_live_context(shipment: Shipment) -> dict:
    return {
        "shipment": shipment,
        "readings": latest_readings(shipment),
        "assessment": latest_assessment(shipment),
    }


@login_required
def shipment_page(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = shipment_for(request.user, reference)
    context = _shipment_live_context(shipment) | {"alerts": shipment_alerts(shipment)}
    return render(request, "frontend/shipment.html", context)


@login_required
def shipment_live(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = shipment_for(request.user, reference)
    return render(request, "frontend/_shipment_live.html", _shipment_live_context(shipment))


@login_required
def shipment_series_json(request: HttpRequest, reference: str) -> JsonResponse:
    return JsonResponse(shipment_series(shipment_for(request.user, reference)))


@login_required
def alerts_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    return render(
        request,
        "frontend/alerts.html",
        {
            "alerts": inbox_alerts(request.user, status),
            "status": status,
            "statuses": Alert.Status.choices,
        },
    )


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def ledger_page(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    entries, older = visible_entries(
        request.user, kind=kind, before=_int_or_none(request.GET.get("before"))
    )
    return render(
        request,
        "frontend/ledger.html",
        {
            "checkpoints": recent_checkpoints(),
            "entries": entries,
            "older": older,
            "kind": kind,
            "kinds": entry_kinds(),
            "verify_index": _int_or_none(request.GET.get("verify")),
            "log_vkey": log_vkey(),
            "witness_vkeys": witness_vkeys(),
        },
    )


@login_required
def devices_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "frontend/devices.html",
        {
            "devices": devices_with_rejections(request.user),
            "may_revoke": acts_as_staff(request.user),
        },
    )


@login_required
@require_POST
def device_revoke_view(request: HttpRequest, device_id: str) -> HttpResponse:
    if not acts_as_staff(request.user):
        raise PermissionDenied("Only platform staff revoke devices.")
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, "Give a reason: it is written to the ledger.")
    elif not Device.objects.filter(pk=device_id).exists():
        messages.error(request, f"No device {device_id}.")
    else:
        device_revoke(device_id=device_id, reason=reason)
        messages.success(request, f"{device_id} revoked; its further messages are rejected.")
    return redirect("devices")


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/models.html", {"versions": model_versions()})

"""Dashboard pages. Thin: each reads through ``frontend.selectors`` and renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST

from coldchain.access import acts_as_staff, evidence_visible
from coldchain.alerts import (
    AlertError,
    AlertPermissionError,
    alert_acknowledge,
    alert_comment,
    alerts_actor,
)
from coldchain.models import Alert, Shipment
from coldchain.release import SignatureRefused, release_sign
from coldchain.report import shipment_report_pdf
from coldchain.shipment_eta import shipment_eta, shipments_with_eta
from coldchain.shipment_states import ContractError
from devices.models import Device
from devices.services import device_revoke
from frontend.forms import ReleaseForm
from frontend.selectors.alerts import alert_for, inbox_alerts
from frontend.selectors.contracts import (
    claim_for,
    contract_timeline,
    excursion_panel,
)
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
    now = timezone.now()
    return {
        "shipments": shipments_with_eta(fleet_shipments(request.user, fleet_filter), now=now),
        "filter": fleet_filter,
        "statuses": Shipment.Status.choices,
        "query_string": request.GET.urlencode(),
        "now": now,
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


def _shipment_context(
    request: HttpRequest, shipment: Shipment, release_form: ReleaseForm | None = None
) -> dict:
    return _shipment_live_context(shipment) | {
        "alerts": shipment_alerts(shipment),
        "acts_on_alerts": alerts_actor(request.user),
        "timeline": contract_timeline(shipment, request.user),
        "evidence_visible": evidence_visible(shipment, request.user),
        "release_form": release_form or ReleaseForm(),
        "eta": shipment_eta(shipment, now=timezone.now()),
    }


@login_required
def shipment_page(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = shipment_for(request.user, reference)
    return render(request, "frontend/shipment.html", _shipment_context(request, shipment))


def _sentence(error: Exception) -> str:
    text = str(error)
    return f"{text[:1].upper()}{text[1:]}."


@login_required
@require_POST
def release_sign_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Sign the receiver's release; a refusal re-renders the page with the reason."""
    shipment = shipment_for(request.user, reference)
    form = ReleaseForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            release_sign(
                shipment=shipment,
                user=request.user,
                password=form.cleaned_data["password"],
                decision=form.cleaned_data["decision"],
                fraction=form.fraction(),
                reason=form.cleaned_data["reason"],
            )
        except SignatureRefused as refused:
            form.add_error(None, _sentence(refused))
            status = 403
        except ContractError as error:
            form.add_error(None, f"Not signed: {error}.")
        else:
            messages.success(request, "Release signed and anchored in the ledger.")
            return redirect("shipment", reference)
    context = _shipment_context(request, shipment, form)
    return render(request, "frontend/shipment.html", context, status=status)


@login_required
def shipment_report(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = shipment_for(request.user, reference)
    response = HttpResponse(shipment_report_pdf(shipment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="shipment-report-{shipment.reference}.pdf"'
    return response


@login_required
def claim_evidence(request: HttpRequest, reference: str, claim_id: int) -> JsonResponse:
    claim = claim_for(shipment_for(request.user, reference), request.user, claim_id)
    if claim.evidence is None:
        raise Http404("The claim's evidence waits for the next checkpoint")
    response = JsonResponse(claim.evidence)
    response["Content-Disposition"] = (
        f'attachment; filename="claim-{claim.pk}-{reference}-evidence.json"'
    )
    return response


@login_required
def shipment_live(request: HttpRequest, reference: str) -> HttpResponse:
    shipment = shipment_for(request.user, reference)
    return render(request, "frontend/_shipment_live.html", _shipment_live_context(shipment))


@login_required
def shipment_excursions(request: HttpRequest, reference: str) -> HttpResponse:
    """The excursion panel, loaded by htmx once the page is shown: on a long trip
    counting its readings anew takes a while, and the page need not wait for it."""
    shipment = shipment_for(request.user, reference)
    context = {"excursions": excursion_panel(shipment)}
    return render(request, "frontend/shipment/_excursions.html", context)


# Compressed: the chart's numbers shrink to about 40 %, and the answer carries
# no secret an attacker could guess byte by byte (BREACH), unlike the pages'
# CSRF tokens, which stay uncompressed.
@gzip_page
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
            "acts_on_alerts": alerts_actor(request.user),
            "status": status,
            "statuses": Alert.Status.choices,
        },
    )


def _alert_note(request: HttpRequest, alert_id: int, add) -> HttpResponse:
    """Add a note with ``add`` (a coldchain.alerts service); htmx gets the alert's
    notes and forms back, a plain form post the shipment page."""
    alert = alert_for(request.user, alert_id)
    error, status = "", 200
    try:
        add(alert, request.user, request.POST.get("text", ""))
    except AlertPermissionError as refused:
        error, status = f"Not allowed: {refused}.", 403
    except AlertError as invalid:
        error, status = f"Not saved: {invalid}.", 400
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("shipment", alert.shipment.reference)
    context = {
        "alert": alert_for(request.user, alert_id),
        "acts_on_alerts": alerts_actor(request.user),
        "error": error,
        "swapped": True,
    }
    return render(request, "frontend/alerts/_actions.html", context, status=status)


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_note(request, alert_id, alert_acknowledge)


@login_required
@require_POST
def alert_comment_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_note(request, alert_id, alert_comment)


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

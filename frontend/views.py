from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from frontend.selectors import fleet_overview
from ledger.log_key import log_vkey


@login_required
def fleet_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "frontend/fleet.html", {"trucks": fleet_overview(), "log_vkey": log_vkey()}
    )


@login_required
def fleet_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"trucks": fleet_overview()})

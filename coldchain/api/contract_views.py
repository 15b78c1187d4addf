"""Contracts, contract actions, claims and payments: evidence, read only for
everyone, scoped by shipment like every other party row (``VisibleToPartyMixin``)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from coldchain import access
from coldchain.api import filters
from coldchain.api.contract_serializers import (
    ClaimSerializer,
    ContractActionSerializer,
    ContractSerializer,
    PaymentSerializer,
)
from coldchain.api.views import VisibleToPartyMixin
from coldchain.models import Contract, ContractAction, InsuranceClaim, ShipmentTransition

PAYMENT_KINDS = (ContractAction.Kind.PAYMENT_RELEASED, ContractAction.Kind.PAYMENT_WITHHELD)
_ACTION_RELATIONS = ("shipment", "payer", "payee", "ledger_entry__sealed")


class EvidencePending(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "evidence_pending"
    default_detail = (
        "The claim's evidence bundle is built once its entry is sealed; try again shortly."
    )


def _actions() -> QuerySet[ContractAction]:
    return ContractAction.objects.select_related(*_ACTION_RELATIONS).prefetch_related(
        "model_versions"
    )


class ContractViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """Each shipment's terms as activated, with its timeline: transitions and the
    contract engine's actions in order. Looked up by shipment reference."""

    queryset = Contract.objects.select_related(
        "shipment", "template", "ledger_entry__sealed"
    ).prefetch_related(
        Prefetch(
            "shipment__transitions",
            ShipmentTransition.objects.select_related("actor", "ledger_entry__sealed").order_by(
                "at", "id"
            ),
        ),
        Prefetch("shipment__actions", _actions().order_by("at", "id")),
    )
    serializer_class = ContractSerializer
    lookup_field = "shipment__reference"
    lookup_url_kwarg = "reference"
    filterset_class = filters.ContractFilter
    ordering_fields = ["activated_at"]
    ordering = ["-activated_at"]


class ContractActionViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """What the contract engine did: breach warnings, claims, payments."""

    queryset = _actions()
    serializer_class = ContractActionSerializer
    filterset_class = filters.ContractActionFilter
    ordering_fields = ["at", "created_at", "amount"]
    ordering = ["-at", "-id"]


class PaymentViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """Payments released or withheld, with their breakdown."""

    queryset = _actions().filter(kind__in=PAYMENT_KINDS)
    serializer_class = PaymentSerializer
    filterset_class = filters.PaymentFilter
    ordering_fields = ["at", "amount"]
    ordering = ["-at", "-id"]


class ClaimViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """Insurance claims the engine filed, and their evidence bundles."""

    shipment_path = "action__shipment"
    queryset = InsuranceClaim.objects.select_related(
        "insurer", "action__shipment", "action__ledger_entry__sealed"
    ).defer("evidence")
    serializer_class = ClaimSerializer
    filterset_class = filters.ClaimFilter
    ordering_fields = ["claimed_amount", "action__at"]
    ordering = ["-action__at", "-id"]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        description="The claim's coldchain-evidence/v1 bundle, for `python -m ledger.verify`. "
        "Staff, auditors, the shipper, carrier, receiver and insurer only (not the bank).",
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def evidence(self, request: Request, pk: str) -> Response:
        claim = self.get_object()
        if not access.evidence_visible(claim.action.shipment, request.user):
            raise NotFound("No such claim.")  # as the dashboard answers
        bundle = InsuranceClaim.objects.values_list("evidence", flat=True).get(pk=claim.pk)
        if bundle is None:
            raise EvidencePending()
        return Response(bundle)

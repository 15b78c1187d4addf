"""API views: thin, each queryset scoped by ``coldchain.access``; evidence is read only,
the few actions (release signing, alert notes) call the same services as the dashboard.

A row the user may not see is a 404 exactly like a missing one, so that the
API does not tell another party's shipment references from unused ones.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.models import ModelVersion
from coldchain import access
from coldchain.alerts import AlertError, AlertPermissionError, alert_acknowledge, alert_comment
from coldchain.api import filters
from coldchain.api.contract_serializers import ReleaseRequestSerializer, ReleaseSignatureSerializer
from coldchain.api.pagination import ReadingCursorPage
from coldchain.api.serializers import (
    AlertNoteRequestSerializer,
    AlertSerializer,
    AssessmentSerializer,
    ModelVersionSerializer,
    PartySerializer,
    ProductSerializer,
    SeriesQuerySerializer,
    SeriesSerializer,
    ShipmentDetailSerializer,
    ShipmentSerializer,
)
from coldchain.api.throttling import ScopedRateThrottle
from coldchain.epcis import SensorSample, epcis_document
from coldchain.models import (
    Alert,
    AlertNote,
    Assessment,
    Party,
    Product,
    ReleaseSignature,
    Shipment,
)
from coldchain.release import SignatureRefused, release_sign
from coldchain.series import reading_series
from coldchain.shipment_eta import shipment_eta
from coldchain.shipment_states import ContractError
from devices.models import Device, DeviceKey, Reading
from devices.serializers import DeviceSerializer, ReadingSerializer


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token (rate limited)."""

    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]


class JsonLdRenderer(JSONRenderer):
    """EPCIS 2.0 documents are JSON-LD; ``Accept: application/json`` gets plain JSON."""

    media_type = "application/ld+json"


class VisibleToPartyMixin:
    """Scopes the queryset to rows whose shipment the user may see.

    ``shipment_path`` is the lookup from the model to its shipment; a viewset
    for contracts, claims or webhooks deliveries needs only that line.
    """

    shipment_path = "shipment"

    def get_queryset(self) -> QuerySet:
        return access.visible_through_shipment(
            super().get_queryset(), self.request.user, self.shipment_path
        )


class ShipmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Shipments the user's party takes part in (staff and auditors: all)."""

    serializer_class = ShipmentSerializer
    lookup_field = "reference"
    filterset_class = filters.ShipmentFilter
    ordering_fields = ["departure_at", "deadline_at", "reference", "status", "created_at"]
    ordering = ["-departure_at"]

    def get_queryset(self) -> QuerySet[Shipment]:
        return (
            access.shipments_visible_to(self.request.user)
            .select_related("product", "shipper", "carrier", "receiver", "insurer", "bank")
            .prefetch_related("attachments")
        )

    def get_serializer_class(self) -> type[ShipmentSerializer]:
        return ShipmentDetailSerializer if self.action == "retrieve" else ShipmentSerializer

    def retrieve(self, request: Request, reference: str) -> Response:
        shipment = self.get_object()
        shipment.eta = shipment_eta(shipment, now=timezone.now())
        return Response(self.get_serializer(shipment).data)

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        description="The shipment as a GS1 EPCIS 2.0 document with its sensor data.",
    )
    @action(
        detail=True,
        pagination_class=None,
        filter_backends=[],
        renderer_classes=[JsonLdRenderer, JSONRenderer],
    )
    def epcis(self, request: Request, reference: str) -> Response:
        shipment = self.get_object()
        samples = [
            SensorSample(*row)
            for row in access.readings_of_shipment(shipment)
            .order_by("device_id", "ts")
            .values_list("device_id", "ts", "temp_c")
        ]
        document = epcis_document(
            shipment, samples, base_uri=settings.EPCIS_BASE_URI, created_at=timezone.now()
        )
        return Response(document)

    def get_throttles(self) -> list:
        # Signing re-enters the password: as rate limited as the token endpoint.
        if self.action == "release" and self.request.method == "POST":
            self.throttle_scope = "auth"
            return [ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(methods=["GET"], request=None, responses=ReleaseSignatureSerializer)
    @extend_schema(
        methods=["POST"],
        request=ReleaseRequestSerializer,
        responses={201: ReleaseSignatureSerializer},
        description="Sign the receiver's release decision: a manager of the receiver, "
        "re-entering their password, on a delivered shipment.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def release(self, request: Request, reference: str) -> Response:
        """The receiver's signed release decision (404 until signed)."""
        shipment = self.get_object()
        if request.method == "POST":
            return self._release_sign(request, shipment)
        signature = (
            ReleaseSignature.objects.filter(shipment=shipment)
            .select_related("shipment", "signer", "ledger_entry__sealed")
            .first()
        )
        if signature is None:
            raise NotFound("The release of this shipment is not signed yet.")
        return Response(ReleaseSignatureSerializer(signature).data)

    def _release_sign(self, request: Request, shipment: Shipment) -> Response:
        wanted = ReleaseRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        try:
            signature = release_sign(shipment=shipment, user=request.user, **wanted.validated_data)
        except SignatureRefused as exc:
            raise PermissionDenied(str(exc)) from None
        except ContractError as exc:
            raise ValidationError(str(exc)) from None
        return Response(ReleaseSignatureSerializer(signature).data, status=status.HTTP_201_CREATED)


class PartyViewSet(viewsets.ReadOnlyModelViewSet):
    """The user's own party (staff and auditors: every party)."""

    serializer_class = PartySerializer
    lookup_field = "slug"
    filterset_fields = ["kind"]
    ordering_fields = ["name", "slug"]

    def get_queryset(self) -> QuerySet[Party]:
        return access.parties_visible_to(self.request.user)


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Products of the shipments the user may see."""

    serializer_class = ProductSerializer
    lookup_field = "code"
    ordering_fields = ["code", "name"]

    def get_queryset(self) -> QuerySet[Product]:
        if access.sees_everything(self.request.user):
            return Product.objects.all()
        visible = access.shipments_visible_to(self.request.user)
        return Product.objects.filter(pk__in=visible.values("product"))


class DeviceViewSet(viewsets.ReadOnlyModelViewSet):
    """Devices that watch, or watched, a shipment the user may see, with key history."""

    serializer_class = DeviceSerializer
    lookup_value_regex = "[^/]+"
    filterset_class = filters.DeviceFilter
    ordering_fields = ["id", "vehicle", "last_seen", "registered_at"]
    ordering = ["vehicle", "id"]

    def get_queryset(self) -> QuerySet[Device]:
        keys = DeviceKey.objects.select_related("valid_from_entry", "retired_entry")
        return access.devices_visible_to(self.request.user).prefetch_related(
            Prefetch("keys", keys.order_by("number"))
        )


class ReadingViewSet(viewsets.ReadOnlyModelViewSet):
    """Signed readings, last stored first, each with its ledger index once sealed.

    A party sees a device's readings only from while it watched a shipment
    the party takes part in.
    """

    serializer_class = ReadingSerializer
    filterset_class = filters.ReadingFilter
    pagination_class = ReadingCursorPage
    ordering_fields = ["id", "ts"]

    def get_queryset(self) -> QuerySet[Reading]:
        return access.readings_visible_to(self.request.user).select_related(
            "ledger_entry__sealed", "signing_key"
        )

    @extend_schema(parameters=[SeriesQuerySerializer], responses=SeriesSerializer)
    @action(detail=False, pagination_class=None, filter_backends=[])
    def series(self, request: Request) -> Response:
        """One device's temperature from ``from`` to ``to``, in at most ``max_points``
        equal time buckets (count, mean, min, max), computed in the database."""
        query = SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        width, points = reading_series(
            self.get_queryset().filter(device_id=wanted["device"]),
            wanted["start"],
            wanted["end"],
            wanted["max_points"],
        )
        return Response(
            SeriesSerializer(
                {
                    "device": wanted["device"],
                    "bucket_seconds": width.total_seconds(),
                    "points": points,
                }
            ).data
        )


class AssessmentViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """What the platform concluded about a shipment's cargo (evidence: read only)."""

    queryset = Assessment.objects.select_related("shipment", "ledger_entry__sealed")
    serializer_class = AssessmentSerializer
    filterset_class = filters.AssessmentFilter
    ordering_fields = ["evaluated_at", "created_at"]
    ordering = ["-evaluated_at"]


class AlertViewSet(VisibleToPartyMixin, viewsets.ReadOnlyModelViewSet):
    """Alerts on the user's shipments, with their acknowledgements and comments."""

    queryset = Alert.objects.select_related("shipment").prefetch_related(
        Prefetch("notes", AlertNote.objects.select_related("author", "ledger_entry__sealed"))
    )
    serializer_class = AlertSerializer
    filterset_class = filters.AlertFilter
    ordering_fields = ["opened_at", "closed_at"]
    ordering = ["-opened_at"]

    def _note(self, request: Request, service, created: int) -> Response:
        alert = self.get_object()
        wanted = AlertNoteRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        try:
            service(alert, request.user, wanted.validated_data["text"])
        except AlertPermissionError as exc:
            raise PermissionDenied(str(exc)) from None
        except AlertError as exc:
            raise ValidationError(str(exc)) from None
        return Response(AlertSerializer(self.get_object()).data, status=created)

    @extend_schema(request=AlertNoteRequestSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Acknowledge the open alert (operators and managers of its parties, staff);
        acknowledging again changes nothing. Returns the alert with its notes."""
        return self._note(request, alert_acknowledge, status.HTTP_200_OK)

    @extend_schema(request=AlertNoteRequestSerializer, responses={201: AlertSerializer})
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def comment(self, request: Request, pk: str) -> Response:
        """Comment on the alert, open or closed; the note is anchored in the ledger."""
        return self._note(request, alert_comment, status.HTTP_201_CREATED)


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Registered models and their provenance: not party data, every user sees them."""

    queryset = ModelVersion.objects.select_related("registration_entry__sealed")
    serializer_class = ModelVersionSerializer
    filterset_class = filters.ModelVersionFilter
    ordering_fields = ["task", "version", "created_at"]
    ordering = ["task", "-version"]

"""A party's webhook endpoints and their deliveries: scoped by the user's party
(not by shipment), managed by its managers; staff see and manage all."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from coldchain import access
from coldchain.api import filters
from coldchain.api.webhook_serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWriteSerializer,
)
from coldchain.models import WebhookDelivery, WebhookEndpoint
from coldchain.webhooks.deliveries import webhook_redeliver
from coldchain.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_update


class ManagesIntegrations(BasePermission):
    """Reading: staff, auditors and managers; writing: staff who act and managers."""

    message = "Only a manager of the party (or platform staff) manages its webhooks."

    def has_permission(self, request: Request, view) -> bool:
        if request.method in SAFE_METHODS and access.sees_everything(request.user):
            return True
        return access.manages_integrations(request.user)


def _service_call(call, *args, **kwargs):
    """Run a webhooks service; its Django ValidationError becomes a 400 naming the field."""
    try:
        return call(*args, **kwargs)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None


class WebhookEndpointViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """The URLs where the party receives events. DELETE deactivates (deliveries
    already made stay on record)."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAuthenticated, ManagesIntegrations]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["active"]
    ordering_fields = ["created_at", "url"]
    ordering = ["created_at"]

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return access.webhook_endpoints_visible_to(self.request.user).select_related("party")

    def _body(self, *, partial: bool) -> dict:
        body = WebhookEndpointWriteSerializer(data=self.request.data, partial=partial)
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        description="A new endpoint of the user's party. The response holds the signing "
        "secret: it is shown this once.",
    )
    def create(self, request: Request) -> Response:
        party = access.user_party(request.user)
        if party is None:
            raise PermissionDenied("Only a member of a party creates its webhook endpoints.")
        wanted = self._body(partial=False)
        endpoint, secret = _service_call(
            webhook_endpoint_create,
            party=party,
            url=wanted["url"],
            event_types=wanted["event_types"],
        )
        data = WebhookEndpointCreatedSerializer(endpoint).data | {"secret": secret}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointWriteSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        wanted = self._body(partial=True)
        _service_call(webhook_endpoint_update, endpoint, **wanted)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request: Request, pk: str) -> Response:
        webhook_endpoint_update(self.get_object(), active=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Every event sent to the party's endpoints, with each attempt."""

    serializer_class = WebhookDeliverySerializer
    permission_classes = [IsAuthenticated, ManagesIntegrations]
    filterset_class = filters.WebhookDeliveryFilter
    ordering_fields = ["created_at", "delivered_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return access.webhook_deliveries_visible_to(self.request.user).prefetch_related("log")

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def redeliver(self, request: Request, pk: str) -> Response:
        """Send the delivery again now, same body and event id, on a fresh retry schedule."""
        delivery = webhook_redeliver(self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

"""The shipment domain: one module per concern, all imported here for Django."""

from coldchain.models.assessments import Alert, AlertNote, Assessment
from coldchain.models.contracts import (
    Contract,
    ContractAction,
    ContractTemplate,
    InsuranceClaim,
    ReleaseSignature,
    ShipmentTransition,
)
from coldchain.models.evaluation_queue import ShipmentDirty
from coldchain.models.parties import Membership, Party
from coldchain.models.shipments import DeviceAttachment, Product, Shipment
from coldchain.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Alert",
    "AlertNote",
    "Assessment",
    "Contract",
    "ContractAction",
    "ContractTemplate",
    "DeviceAttachment",
    "InsuranceClaim",
    "Membership",
    "Party",
    "Product",
    "ReleaseSignature",
    "Shipment",
    "ShipmentDirty",
    "ShipmentTransition",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]

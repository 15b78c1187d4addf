"""Who may see what: every page, API response and export goes through here.

A party sees the shipments it takes part in (a carrier what it carries, an
insurer what it insures, ...) and, through them, their devices, readings,
assessments, alerts and contract actions. Staff and auditors see everything.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from analytics.models import ModelActivation, ModelVersion
from coldchain.models import (
    AlertNote,
    Assessment,
    Contract,
    ContractAction,
    DeviceAttachment,
    Membership,
    Party,
    ReleaseSignature,
    Shipment,
    ShipmentTransition,
    WebhookDelivery,
    WebhookEndpoint,
)
from devices.models import Device, DeviceKey, Reading
from ledger.models import Entry

PARTY_ROLES = ("shipper", "carrier", "receiver", "insurer", "bank")


_NOT_LOOKED_UP = object()


def user_membership(user) -> Membership | None:
    """The user's membership, looked up once per user object (one per request):
    every queryset of a request asks."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_coldchain_membership", _NOT_LOOKED_UP)
    if cached is _NOT_LOOKED_UP:
        cached = Membership.objects.filter(user=user).select_related("party").first()
        user._coldchain_membership = cached
    return cached


def user_party(user) -> Party | None:
    membership = user_membership(user)
    return membership.party if membership else None


def is_auditor(user) -> bool:
    party = user_party(user)
    return party is not None and party.kind == Party.Kind.AUDITOR


def acts_as_staff(user) -> bool:
    """Platform staff who may act (revoke devices, acknowledge alerts): auditors are
    staff only to read the admin console (coldchain.auditors), never to act."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or (user.is_staff and not is_auditor(user))


def sees_everything(user) -> bool:
    """Staff and auditors: every shipment, read only where the data is evidence."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.is_superuser or is_auditor(user)


def party_shipments_filter(party: Party) -> Q:
    condition = Q()
    for role in PARTY_ROLES:
        condition |= Q(**{role: party})
    return condition


def shipments_visible_to(user) -> QuerySet[Shipment]:
    if sees_everything(user):
        return Shipment.objects.all()
    party = user_party(user)
    if party is None:
        return Shipment.objects.none()
    return Shipment.objects.filter(party_shipments_filter(party))


def devices_visible_to(user) -> QuerySet[Device]:
    """Devices that watch, or watched, a shipment the user may see."""
    if sees_everything(user):
        return Device.objects.all()
    return Device.objects.filter(pk__in=shipments_visible_to(user).values("attachments__device"))


def attached_when_read(attachments: QuerySet[DeviceAttachment]) -> Exists:
    """True for a reading taken by one of ``attachments``' devices during its period."""
    return Exists(
        attachments.filter(device=OuterRef("device_id"), attached_from__lte=OuterRef("ts")).filter(
            Q(attached_until__isnull=True) | Q(attached_until__gt=OuterRef("ts"))
        )
    )


def readings_visible_to(user) -> QuerySet[Reading]:
    """Readings a device took while it watched a shipment the user may see.

    A device moved to another party's load shows that party's readings only
    to that party, even though the device itself stays visible to both.
    """
    if sees_everything(user):
        return Reading.objects.all()
    visible = DeviceAttachment.objects.filter(shipment__in=shipments_visible_to(user))
    return Reading.objects.filter(attached_when_read(visible))


def readings_of_shipment(shipment: Shipment) -> QuerySet[Reading]:
    """The readings of the devices attached to ``shipment``, within their periods."""
    return Reading.objects.filter(attached_when_read(shipment.attachments.all()))


def entries_visible_to(user) -> QuerySet[Entry]:
    """Ledger entries whose bytes the user may read.

    Checkpoints and proofs are public; entry bytes are not, since a reading's
    JWS is another party's data. A party reads the entries of what it may
    see: its readings, its devices' key history, its shipments' assessments
    and alert notes, and every model version (provenance, not party data).
    An entry no rule below reaches is served to staff and auditors only.
    """
    if sees_everything(user):
        return Entry.objects.all()
    if user_party(user) is None:
        return Entry.objects.none()
    shipments = shipments_visible_to(user)
    devices = devices_visible_to(user)
    keys = DeviceKey.objects.filter(device__in=devices)
    owned = (
        Q(pk__in=readings_visible_to(user).values("ledger_entry"))
        | Q(pk__in=devices.values("registration_entry"))
        | Q(pk__in=devices.values("revocation_entry"))
        | Q(pk__in=keys.values("valid_from_entry"))
        | Q(pk__in=keys.values("retired_entry"))
        | Q(pk__in=Assessment.objects.filter(shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=AlertNote.objects.filter(alert__shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=Contract.objects.filter(shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=ShipmentTransition.objects.filter(shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=ContractAction.objects.filter(shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=ReleaseSignature.objects.filter(shipment__in=shipments).values("ledger_entry"))
        | Q(pk__in=ModelVersion.objects.values("registration_entry"))
        | Q(pk__in=ModelActivation.objects.values("entry"))
    )
    return Entry.objects.filter(owned)


def entry_readable(user, entry: Entry) -> bool:
    return entries_visible_to(user).filter(pk=entry.pk).exists()


def visible_through_shipment(queryset: QuerySet, user, shipment_path: str) -> QuerySet:
    """``queryset`` narrowed to rows whose shipment (at ``shipment_path``) the user may see."""
    if sees_everything(user):
        return queryset
    return queryset.filter(**{f"{shipment_path}__in": shipments_visible_to(user)})


def parties_visible_to(user) -> QuerySet[Party]:
    """The user's own party; staff and auditors see every party."""
    if sees_everything(user):
        return Party.objects.all()
    party = user_party(user)
    return Party.objects.filter(pk=party.pk) if party else Party.objects.none()


def evidence_visible(shipment: Shipment, user) -> bool:
    """Who may download a claim's evidence bundle: staff, auditors and the
    parties of the claim (the insured shipper, the carrier it is about, the
    receiver and the insurer); not the bank."""
    if sees_everything(user):
        return True
    party = user_party(user)
    return party is not None and party.pk in {
        shipment.shipper_id,
        shipment.carrier_id,
        shipment.receiver_id,
        shipment.insurer_id,
    }


def manages_integrations(user) -> bool:
    """Who may create, change and redeliver webhooks: staff who act, or a manager
    of a party (its own endpoints only). Auditors read; they do not act."""
    if acts_as_staff(user):
        return True
    membership = user_membership(user)
    return (
        membership is not None
        and membership.party.kind != Party.Kind.AUDITOR
        and membership.role == Membership.Role.MANAGER
    )


def webhook_endpoints_visible_to(user) -> QuerySet[WebhookEndpoint]:
    """Staff and auditors: every endpoint; a party's manager: the party's own;
    nobody else any (an endpoint's URL is a party's integration detail)."""
    if sees_everything(user):
        return WebhookEndpoint.objects.all()
    if not manages_integrations(user):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(party=user_party(user))


def webhook_deliveries_visible_to(user) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__in=webhook_endpoints_visible_to(user))

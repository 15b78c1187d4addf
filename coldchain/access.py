"""Who may see what: every page, API response and export goes through here.

A party sees the shipments it takes part in (a carrier what it carries, an
insurer what it insures, ...) and, through them, their devices, readings,
assessments, alerts and contract actions. Staff and auditors see everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from coldchain.models import Membership, Party, Shipment
from devices.models import Device

PARTY_ROLES = ("shipper", "carrier", "receiver", "insurer", "bank")


def user_membership(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user).select_related("party").first()


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

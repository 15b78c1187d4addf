"""The receiver's release decision as an electronic signature, in the spirit of
21 CFR Part 11: printed name, date and time and meaning recorded with it
(§11.50), the password re-entered for each signing (§11.200), anchored."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal, InvalidOperation

from django.db import transaction

from coldchain.anchoring import entry_instant
from coldchain.contract_entries import RELEASE_SIGNED, anchor, release_claims
from coldchain.models import Membership, ReleaseSignature, Shipment
from coldchain.shipment_states import (
    ContractError,
    event_on_commit,
    shipment_locked,
    transition_record,
)

# What the signer's signature means (21 CFR Part 11 §11.50(a)(3)), shown before signing.
MEANINGS = {
    ReleaseSignature.Decision.RELEASED: "I release this load: I accept all of it as conforming",
    ReleaseSignature.Decision.PARTIALLY_RELEASED: (
        "I release {percent} of this load and reject the rest"
    ),
    ReleaseSignature.Decision.REJECTED: "I reject this load: I do not accept any of it",
}


class SignatureRefused(ContractError):
    """The user may not sign, or did not authenticate (wrong password)."""


def _fraction(decision: str, fraction: object) -> Decimal:
    if decision == ReleaseSignature.Decision.RELEASED:
        return Decimal(1)
    if decision == ReleaseSignature.Decision.REJECTED:
        return Decimal(0)
    try:
        value = Decimal(str(fraction))
    except InvalidOperation:
        value = Decimal("NaN")
    if fraction is None or isinstance(fraction, bool) or not (0 < value < 1):
        raise ContractError("a partial release needs the released fraction, between 0 and 1")
    return value.quantize(Decimal("0.0001"))


def release_meaning(decision: str, fraction: Decimal) -> str:
    """The meaning of the signature, as shown to the signer and recorded with it."""
    return MEANINGS[decision].format(percent=f"{fraction * 100:.2f} %")


def release_manifestation(signature: ReleaseSignature) -> str:
    """The signature as every display and printout shows it (§11.50): printed
    name, date and time (UTC) and meaning."""
    return (
        f"Signed by {signature.printed_name} on "
        f"{signature.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC. "
        f"Meaning: {signature.meaning}."
        + (f" Reason: {signature.reason}" if signature.reason else "")
    )


def release_signer_allowed(shipment: Shipment, user) -> bool:
    """Whether ``user`` may sign the shipment's release: an active manager of its receiver."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    membership = Membership.objects.filter(user=user).first()
    return (
        membership is not None
        and membership.party_id == shipment.receiver_id
        and membership.role == Membership.Role.MANAGER
    )


def _check_signer(shipment: Shipment, user, password: str) -> None:
    if not release_signer_allowed(shipment, user):
        raise SignatureRefused(
            f"only a manager of the receiver ({shipment.receiver}) may sign the release"
        )
    # §11.200(a)(1): each signing re-enters the password, even within a session.
    if not isinstance(password, str) or not user.check_password(password):
        raise SignatureRefused("the password is not correct: the release was not signed")


def release_sign(
    *,
    shipment: Shipment,
    user,
    password: str,
    decision: str,
    fraction: object = None,
    reason: str = "",
) -> ReleaseSignature:
    """The receiver's release decision, signed with the user's password and anchored."""
    if decision not in ReleaseSignature.Decision.values:
        raise ContractError(
            f"decision must be one of {', '.join(ReleaseSignature.Decision.values)}"
        )
    released = _fraction(decision, fraction)
    reason = (reason or "").strip()
    if decision != ReleaseSignature.Decision.RELEASED and not reason:
        raise ContractError("a partial release or a rejection needs a reason")
    _check_signer(shipment, user, password)
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        if shipment.status != Shipment.Status.DELIVERED:
            raise ContractError(
                f"shipment {shipment.reference} is {shipment.status}: only a delivered load "
                "can be released or rejected"
            )
        signature = ReleaseSignature(
            shipment=shipment,
            signer=user,
            printed_name=(user.get_full_name() or user.get_username()).strip(),
            meaning=release_meaning(decision, released),
            decision=decision,
            released_fraction=released,
            reason=reason,
            signed_at=entry_instant(),
        )
        claims = release_claims(signature)
        signature.ledger_entry = anchor(kind=RELEASE_SIGNED, claims=claims, at=signature.signed_at)
        signature.save()
        transition_record(
            shipment, decision, at=signature.signed_at, reason=signature.meaning, actor=user
        )
        event_on_commit(
            shipment,
            "shipment.release_signed",
            {**claims, "at": signature.signed_at.isoformat()},
            f"{shipment.reference}/release",
        )
    return signature

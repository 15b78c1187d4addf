"""The organisations that take part in a shipment, and their users."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Party(models.Model):
    """An organisation: shipper, carrier, receiver, insurer, bank or auditor."""

    class Kind(models.TextChoices):
        SHIPPER = "shipper", "Shipper"
        CARRIER = "carrier", "Carrier"
        RECEIVER = "receiver", "Receiver"
        INSURER = "insurer", "Insurer"
        BANK = "bank", "Bank"
        AUDITOR = "auditor", "Auditor"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user belongs to exactly one party, with a role inside it."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager (signs releases, manages integrations)"
        OPERATOR = "operator", "Operator (acknowledges alerts)"
        VIEWER = "viewer", "Viewer (read only)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.party})"

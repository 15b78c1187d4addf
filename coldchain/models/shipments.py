"""Products, shipments and the devices that watch them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from coldchain.models.parties import Party

PARTY_ROLES = ("shipper", "carrier", "receiver", "insurer", "bank")


class Product(models.Model):
    """What is carried, with its labelled storage range and excursion allowances.

    Contract terms start from these values; a shipment's terms may tighten them.
    """

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    temp_min_c = models.FloatField()
    temp_max_c = models.FloatField()
    excursion_min_c = models.FloatField(help_text="Lower edge of the allowed excursion band")
    excursion_max_c = models.FloatField(help_text="Upper edge of the allowed excursion band")
    max_single_excursion_min = models.FloatField(help_text="Longest allowed single excursion")
    max_cumulative_excursion_min = models.FloatField(help_text="Allowed time out of range in all")
    mkt_limit_c = models.FloatField(null=True, blank=True, help_text="Mean kinetic temperature")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(temp_min_c__lt=F("temp_max_c")), name="product_range_ordered"
            ),
            models.CheckConstraint(
                condition=Q(excursion_min_c__lte=F("temp_min_c"))
                & Q(excursion_max_c__gte=F("temp_max_c")),
                name="product_band_contains_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.temp_min_c:g}…{self.temp_max_c:g} °C)"


class Shipment(models.Model):
    """One load of one product from origin to destination, under one contract."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active (contract signed, not yet departed)"
        IN_TRANSIT = "in_transit", "In transit"
        DELIVERED = "delivered", "Delivered"
        RELEASED = "released", "Released"
        PARTIALLY_RELEASED = "partially_released", "Partially released"
        REJECTED = "rejected", "Rejected"
        SETTLED = "settled", "Settled"
        DISPUTED = "disputed", "Disputed"

    reference = models.SlugField(max_length=64, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="shipments")
    shipper = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="shipped")
    carrier = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="carried")
    receiver = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="received")
    insurer = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="insured", null=True, blank=True
    )
    bank = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="financed", null=True, blank=True
    )
    vehicle = models.CharField(max_length=64, blank=True, db_index=True)
    origin = models.CharField(max_length=200)
    destination = models.CharField(max_length=200)
    destination_lat = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-90.0), MaxValueValidator(90.0)],
        help_text="WGS 84 latitude of the destination, for the position-based ETA",
    )
    destination_lon = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-180.0), MaxValueValidator(180.0)],
        help_text="WGS 84 longitude of the destination, for the position-based ETA",
    )
    departure_at = models.DateTimeField()
    deadline_at = models.DateTimeField(help_text="Delivery deadline")
    delivered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-departure_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline_at__gt=F("departure_at")),
                name="shipment_deadline_after_departure",
            ),
            models.CheckConstraint(
                condition=(Q(destination_lat__isnull=True) & Q(destination_lon__isnull=True))
                | (
                    # Spelled out: a CHECK passes when NULL makes it unknown.
                    Q(destination_lat__isnull=False, destination_lon__isnull=False)
                    & Q(destination_lat__gte=-90.0, destination_lat__lte=90.0)
                    & Q(destination_lon__gte=-180.0, destination_lon__lte=180.0)
                ),
                name="shipment_destination_position_valid",
                violation_error_message=(
                    "Give both destination coordinates or neither (latitude -90 to 90, "
                    "longitude -180 to 180)"
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def parties(self) -> dict[str, Party]:
        """The shipment's parties by role (shipper, carrier, receiver, insurer,
        bank, in that order); a role left empty is omitted."""
        by_role = {role: getattr(self, role) for role in PARTY_ROLES}
        return {role: party for role, party in by_role.items() if party is not None}


class DeviceAttachment(models.Model):
    """A device watching a shipment's cargo from ``attached_from`` until ``attached_until``.

    The period matters: a logger moved to the next load must not count
    towards the previous one, and the quorum only compares devices that were
    in the same box at the same time.
    """

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="attachments")
    device = models.ForeignKey("devices.Device", on_delete=models.PROTECT, related_name="+")
    attached_from = models.DateTimeField()
    attached_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["shipment", "attached_from"]
        indexes = [models.Index(fields=["device", "attached_from"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(attached_until__isnull=True) | Q(attached_until__gt=F("attached_from")),
                name="attachment_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} on {self.shipment_id}"

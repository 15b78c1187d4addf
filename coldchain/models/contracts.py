"""Contracts: terms per shipment, the shipment's recorded transitions, the
actions the contract engine took (claims, payments, warnings) and the
receiver's signed release decision. Every row here is anchored in the ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from coldchain.models.parties import Party
from coldchain.models.shipments import Shipment

MONEY = {"max_digits": 14, "decimal_places": 2}


class ContractTemplate(models.Model):
    """Named, versioned default terms (payment, penalties, insurance, windows)."""

    name = models.SlugField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    terms = models.JSONField(default=dict, help_text="Partial terms; see docs/contracts.md")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="template_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Contract(models.Model):
    """A shipment's validated terms, hashed and anchored at activation."""

    shipment = models.OneToOneField(Shipment, on_delete=models.PROTECT, related_name="contract")
    template = models.ForeignKey(
        ContractTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    terms = models.JSONField()
    terms_sha256 = models.CharField(max_length=64)
    activated_at = models.DateTimeField()
    ledger_entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"contract of {self.shipment_id} ({self.terms_sha256[:12]})"


class ShipmentTransition(models.Model):
    """One change of a shipment's status: who or what made it, when and why."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=24, choices=Shipment.Status.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=Shipment.Status.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the platform made it (the contract engine)",
    )
    ledger_entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["shipment", "id"]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {self.from_status or '-'} -> {self.to_status}"


class ContractAction(models.Model):
    """What the contract engine did, exactly once per idempotency key."""

    class Kind(models.TextChoices):
        BREACH_WARNING = "breach_warning", "Breach warning to the carrier"
        INSURANCE_CLAIM = "insurance_claim", "Insurance claim"
        PAYMENT_RELEASED = "payment_released", "Payment released"
        PAYMENT_WITHHELD = "payment_withheld", "Payment withheld"

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=24, choices=Kind.choices, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reason = models.TextField()
    at = models.DateTimeField(help_text="The evaluation instant (facts.now)")
    terms_sha256 = models.CharField(max_length=64)
    facts_sha256 = models.CharField(max_length=64)
    facts = models.JSONField(help_text="The facts the engine decided on; hashes to facts_sha256")
    reading_indices = models.JSONField(default=list, help_text="Ledger indices of the readings")
    assessment_indices = models.JSONField(default=list, help_text="Ledger indices of assessments")
    model_versions = models.ManyToManyField("analytics.ModelVersion", blank=True, related_name="+")
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payer = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payee = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, help_text="Claim or payment breakdown")
    ledger_entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "id"]

    def __str__(self) -> str:
        return self.idempotency_key


class InsuranceClaim(models.Model):
    """A claim's terms and its evidence bundle, built once the claim is sealed."""

    action = models.OneToOneField(ContractAction, on_delete=models.PROTECT, related_name="claim")
    insurer = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="claims")
    policy = models.CharField(max_length=200)
    insured_value = models.DecimalField(**MONEY)
    deductible = models.DecimalField(**MONEY)
    claimed_amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    evidence = models.JSONField(
        null=True, blank=True, help_text="coldchain-evidence/v1 bundle; empty until sealed"
    )
    evidence_built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"claim {self.action.idempotency_key} on {self.policy}"


class ReleaseSignature(models.Model):
    """The receiver's release decision as an electronic signature (21 CFR Part 11
    §11.50: printed name, date and time, meaning; §11.200: re-entered password)."""

    class Decision(models.TextChoices):
        RELEASED = "released", "Released"
        PARTIALLY_RELEASED = "partially_released", "Partially released"
        REJECTED = "rejected", "Rejected"

    shipment = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="release_signature"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=300)
    meaning = models.CharField(max_length=300)
    decision = models.CharField(max_length=24, choices=Decision.choices)
    released_fraction = models.DecimalField(max_digits=5, decimal_places=4)
    reason = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    ledger_entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(released_fraction__gte=0) & Q(released_fraction__lte=1),
                name="release_fraction_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.printed_name} ({self.shipment_id})"

"""Shipments with readings not yet evaluated: the debounce between ingest and evaluation."""

from __future__ import annotations

from django.db import models

from coldchain.models.shipments import Shipment


class ShipmentDirty(models.Model):
    """A shipment whose devices stored readings since it was last evaluated.

    One row per shipment however many ingest batches mark it, so the
    evaluation tick queues one evaluation per shipment (docs/evaluation.md).
    """

    shipment = models.OneToOneField(
        Shipment, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    since = models.DateTimeField(help_text="Earliest reading time marked (cargo time)")
    marked_at = models.DateTimeField(help_text="When readings last marked it")
    due_at = models.DateTimeField(db_index=True, help_text="Not evaluated before this")
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When an evaluation was queued; empty: none is"
    )

    class Meta:
        verbose_name_plural = "shipments to evaluate"

    def __str__(self) -> str:
        return f"{self.shipment_id} to evaluate from {self.since:%Y-%m-%d %H:%M}"

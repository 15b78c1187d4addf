"""Shipments named on a command line, or a clear error naming the unknown ones."""

from __future__ import annotations

from django.core.management.base import CommandError

from coldchain.models import Shipment


def shipments_named(references: list[str]) -> list[Shipment]:
    shipments = list(Shipment.objects.filter(reference__in=references).order_by("reference"))
    unknown = sorted(set(references) - {shipment.reference for shipment in shipments})
    if unknown:
        raise CommandError(f"no shipment {', '.join(unknown)}")
    return shipments

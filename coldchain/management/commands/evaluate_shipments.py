"""``manage.py evaluate_shipments [REFERENCE ...]``: assess shipments now, without waiting
for the evaluation tick (docs/evaluation.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from coldchain.management.references import shipments_named
from coldchain.models import DeviceAttachment, Shipment
from coldchain.reevaluation import shipment_evaluate_all


class Command(BaseCommand):
    help = (
        "Assess the named shipments (default: every shipment with a device attached) up to "
        "their latest ready instant, and open or close their alerts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("references", nargs="*", help="shipment references")

    def handle(self, *args, references: list[str], **options) -> None:
        if references:
            shipments = shipments_named(references)
        else:
            watched = DeviceAttachment.objects.values("shipment")
            shipments = list(Shipment.objects.filter(pk__in=watched).order_by("reference"))
        for shipment in shipments:
            result = shipment_evaluate_all(shipment)
            if result.skipped:
                raise CommandError(f"{shipment.reference}: {result.skipped}")
            self.stdout.write(
                f"{shipment.reference}: {result.assessments} assessment(s), "
                f"{result.alerts_opened} alert(s) opened, {result.alerts_closed} closed"
            )

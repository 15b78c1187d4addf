"""``manage.py evaluate_shipments [REFERENCE ...]``: assess shipments now, without waiting
for the evaluation tick (docs/evaluation.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from coldchain.evaluation import shipment_evaluate
from coldchain.models import DeviceAttachment, Shipment


class Command(BaseCommand):
    help = (
        "Assess the named shipments (default: every shipment with a device attached) up to "
        "their latest ready instant, and open or close their alerts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("references", nargs="*", help="shipment references")

    def handle(self, *args, references: list[str], **options) -> None:
        if references:
            shipments = list(Shipment.objects.filter(reference__in=references))
            unknown = sorted(set(references) - {s.reference for s in shipments})
            if unknown:
                raise CommandError(f"no shipment {', '.join(unknown)}")
        else:
            watched = DeviceAttachment.objects.values("shipment")
            shipments = list(Shipment.objects.filter(pk__in=watched).order_by("reference"))
        for shipment in shipments:
            assessments = opened = closed = 0
            while True:  # each run assesses at most EVALUATION_MAX_INSTANTS instants
                result = shipment_evaluate(shipment)
                if result.skipped:
                    raise CommandError(f"{shipment.reference}: {result.skipped}")
                assessments += result.assessments
                opened += result.alerts_opened
                closed += result.alerts_closed
                if not result.more:
                    break
            self.stdout.write(
                f"{shipment.reference}: {assessments} assessment(s), "
                f"{opened} alert(s) opened, {closed} closed"
            )

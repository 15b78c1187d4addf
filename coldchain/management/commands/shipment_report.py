"""``manage.py shipment_report REFERENCE --out REPORT.pdf``: the shipment's report as a PDF."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coldchain.models import Shipment
from coldchain.report import shipment_report_pdf


class Command(BaseCommand):
    help = (
        "Write a shipment's report (charts, excursions, MKT, alerts, contract actions, release "
        "signature, and the checkpoint its readings are proven against) as a PDF."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("reference", help="shipment reference")
        parser.add_argument("--out", required=True, type=Path, help="PDF file to write")

    def handle(self, *args, reference: str, out: Path, **options) -> None:
        shipment = Shipment.objects.filter(reference=reference).first()
        if shipment is None:
            raise CommandError(f"no shipment {reference!r}")
        if not out.parent.is_dir():
            raise CommandError(f"{out.parent}: no such directory")
        pdf = shipment_report_pdf(shipment)
        out.write_bytes(pdf)
        self.stdout.write(f"{out}: {len(pdf):,} bytes, report of {reference}")

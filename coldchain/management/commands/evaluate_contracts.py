"""``manage.py evaluate_contracts [REFERENCE ...]``: run the contract engine now."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_evaluate, contracts_due
from coldchain.management.references import shipments_named


class Command(BaseCommand):
    help = (
        "Evaluate the contracts of the named shipments (default: those whose dispute window "
        "has ended), record new actions once, and attach evidence to sealed claims."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("references", nargs="*", help="shipment references")

    def handle(self, *args, references: list[str], **options) -> None:
        shipments = shipments_named(references) if references else contracts_due()
        for shipment in shipments:
            for action in contract_evaluate(shipment):
                self.stdout.write(f"{action.idempotency_key}: {action.kind} ({action.reason})")
        self.stdout.write(f"{claims_evidence_attach()} claim evidence bundle(s) attached")

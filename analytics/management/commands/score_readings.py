"""``manage.py score_readings INPUT.csv --out FLAGS.csv``: score a readings file offline.

Formats in docs/scoring.md.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.explain import disagreeing_probes, explain, factors_text
from analytics.readings import ReadingsError, readings_frame
from analytics.scoring import score_readings
from analytics.selectors import ScoringModelsError, scoring_models_get

OUTPUT_COLUMNS = ("shipment", "t", "breach_prob", "breach_soon_prob", "sensor_fault_prob", "flag")


class Command(BaseCommand):
    help = "Score a readings CSV with the registered models: one row per shipment and time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", type=Path, help="readings CSV (docs/analytics.md)")
        parser.add_argument("--out", type=Path, required=True, help="flags CSV to write")
        parser.add_argument(
            "--explain", action="store_true", help="add the top factors of each decision"
        )
        parser.add_argument(
            "--model-breach", type=int, metavar="VERSION", help="default: the active one"
        )
        parser.add_argument(
            "--model-breach-soon", type=int, metavar="VERSION", help="default: the active one"
        )

    def handle(self, *args, **options) -> None:
        try:
            models = scoring_models_get(
                breach_version=options["model_breach"],
                breach_soon_version=options["model_breach_soon"],
            )
            readings = readings_frame(options["input"])
        except (ScoringModelsError, ReadingsError) as error:
            raise CommandError(str(error)) from error
        if readings.empty:
            raise CommandError(f"{options['input']}: no readings, only a header line")
        table, scores = score_readings(
            readings,
            breach_model=models.breach_model,
            breach_soon_model=models.breach_soon_model,
            thresholds=models.thresholds,
        )
        out = scores.reset_index()[list(OUTPUT_COLUMNS)]
        if options["explain"]:
            factors = explain(
                table,
                scores,
                breach_model=models.breach_model,
                breach_soon_model=models.breach_soon_model,
                probes=disagreeing_probes(readings),
            )
            out["top_factors"] = [factors_text(row) for row in factors]
        out["t"] = out["t"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.to_csv(options["out"], index=False, float_format="%.6f", lineterminator="\n")
        counts = out["flag"].value_counts()
        summary = ", ".join(f"{flag} {counts[flag]}" for flag in counts.index)
        self.stdout.write(
            f"scored {len(out)} rows of {out['shipment'].nunique()} shipment(s) with "
            f"{models.breach} and {models.breach_soon}: {summary or 'nothing to score'}"
        )

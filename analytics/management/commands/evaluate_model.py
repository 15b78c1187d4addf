"""manage.py evaluate_model: the event-level report of the active models on held-out trips."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.evaluation import DETECTORS, detectors_report
from analytics.features import features
from analytics.models import ModelVersion
from analytics.registry import ModelRegistryError, model_version_active, model_version_load
from analytics.training import (
    DEFAULT_EVALUATION,
    DatasetError,
    DatasetSpec,
    dataset_ensure,
    dataset_load,
)


class Command(BaseCommand):
    help = (
        "Evaluate the active models against the threshold and extrapolation baselines, "
        "event by event, on a data set of another seed than training."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", type=Path, help="A data set directory (manifest.json)")
        parser.add_argument("--trucks", type=int, default=DEFAULT_EVALUATION.trucks)
        parser.add_argument("--days", type=float, default=DEFAULT_EVALUATION.days)
        parser.add_argument("--seed", type=int, default=DEFAULT_EVALUATION.seed)
        parser.add_argument("--fault-rate", type=float, default=DEFAULT_EVALUATION.fault_rate)

    def handle(self, *args, **options) -> None:
        versions = {task: model_version_active(task=task) for task in ModelVersion.Task.values}
        missing = [task for task, version in versions.items() if version is None]
        if missing:
            raise CommandError(f"no active model for {', '.join(missing)}: run train_model first")
        try:
            boosters = {task: model_version_load(version=v) for task, v in versions.items()}
            dataset = self._dataset(options)
        except (ModelRegistryError, DatasetError) as error:
            raise CommandError(str(error)) from None
        trained_on = {version.training_data_sha256 for version in versions.values()}
        if dataset.sha256 in trained_on:
            raise CommandError("the models were trained on this data set: pick another seed")
        thresholds = {
            **versions["breach"].params["decision"],
            **versions["breach_soon"].params["decision"],
        }
        report = detectors_report(
            features(dataset.readings),
            dataset.readings,
            dataset.labels,
            dataset.sensor_faults,
            breach=boosters["breach"],
            breach_soon=boosters["breach_soon"],
            thresholds=thresholds,
            horizon_s=dataset.manifest["labels"]["horizon_s"],
        )
        self.stdout.write(
            f"models {versions['breach']} and {versions['breach_soon']} on data set "
            f"{dataset.sha256} (seed {dataset.manifest['config']['seed']})"
        )
        self.stdout.write(f"{'':45}" + "".join(f"{name:>15}" for name in DETECTORS))
        for figure in report["model"]:
            cells = "".join(f"{_cell(report[name][figure]):>15}" for name in DETECTORS)
            self.stdout.write(f"{figure:45}{cells}")

    def _dataset(self, options: dict):
        if options["data"] is not None:
            return dataset_load(options["data"])
        if options["trucks"] < 1 or options["days"] <= 0 or options["fault_rate"] < 0:
            raise CommandError("--trucks must be >= 1, --days > 0 and --fault-rate >= 0")
        spec = DatasetSpec(
            trucks=options["trucks"],
            days=options["days"],
            seed=options["seed"],
            fault_rate=options["fault_rate"],
        )
        return dataset_ensure(spec, settings.ANALYTICS_DATASET_DIR)


def _cell(value: object) -> str:
    return "n/a" if value is None else str(value)

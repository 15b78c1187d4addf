"""manage.py evaluate_model: the event-level report of the active models on held-out trips."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.evaluation import DETECTORS, detectors_flags, detectors_report
from analytics.features import features
from analytics.management.dataset_options import (
    add_dataset_arguments,
    dataset_from_options,
    dataset_twin_from_options,
)
from analytics.models import ModelVersion
from analytics.registry import ModelRegistryError, model_version_active, model_version_load
from analytics.training import DEFAULT_EVALUATION


class Command(BaseCommand):
    help = (
        "Evaluate the active models against the threshold and extrapolation baselines, "
        "event by event, on a data set of another seed than training; the sensor-fault "
        "events that caused a breach alarm are judged against the data set's twin (its probe "
        "faults labelled but not applied), built next to it."
    )

    def add_arguments(self, parser) -> None:
        add_dataset_arguments(parser, DEFAULT_EVALUATION)

    def handle(self, *args, **options) -> None:
        versions = {task: model_version_active(task=task) for task in ModelVersion.Task.values}
        missing = [task for task, version in versions.items() if version is None]
        if missing:
            raise CommandError(f"no active model for {', '.join(missing)}: run train_model first")
        try:
            boosters = {task: model_version_load(version=v) for task, v in versions.items()}
        except ModelRegistryError as error:
            raise CommandError(str(error)) from None
        dataset = dataset_from_options(options)
        trained_on = {version.training_data_sha256 for version in versions.values()}
        if dataset.sha256 in trained_on:
            raise CommandError("the models were trained on this data set: pick another seed")
        twin = dataset_twin_from_options(options, dataset)
        models = {
            "breach": boosters["breach"],
            "breach_soon": boosters["breach_soon"],
            "thresholds": {
                **versions["breach"].params["decision"],
                **versions["breach_soon"].params["decision"],
            },
            "horizon_s": dataset.manifest["labels"]["horizon_s"],
        }
        twin_flags = (
            None
            if twin is None
            else detectors_flags(features(twin.readings), twin.readings, **models)
        )
        report = detectors_report(
            features(dataset.readings),
            dataset.readings,
            dataset.labels,
            dataset.sensor_faults,
            twin_flags=twin_flags,
            **models,
        )
        self.stdout.write(
            f"models {versions['breach']} and {versions['breach_soon']} on data set "
            f"{dataset.sha256} (seed {dataset.manifest['config']['seed']})"
            + ("" if twin is None else f" and its twin {twin.sha256}")
        )
        self.stdout.write(f"{'':47}" + "".join(f"{name:>15}" for name in DETECTORS))
        for figure in report["model"]:
            cells = "".join(f"{_cell(report[name][figure]):>15}" for name in DETECTORS)
            self.stdout.write(f"{figure:47}{cells}")
        if twin is None:
            self.stdout.write(
                "sensor_fault_events_causing_breach_alarm_share is n/a: the data set's manifest "
                "has no simulator configuration to build its twin from"
            )


def _cell(value: object) -> str:
    return "n/a" if value is None else str(value)

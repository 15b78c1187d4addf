"""manage.py train_model: generate or take a data set, train both models, register them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.models import ModelVersion
from analytics.registry import ModelRegistryError, model_version_active
from analytics.training import (
    DEFAULT_TRAINING,
    DatasetError,
    DatasetSpec,
    dataset_ensure,
    dataset_load,
    dataset_train,
    models_register,
)


class Command(BaseCommand):
    help = (
        "Train the breach and breach_soon models on a data set (generated from the "
        "simulator unless --data is given), evaluate them on held-out shipments and register them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", type=Path, help="A data set directory (manifest.json)")
        parser.add_argument("--trucks", type=int, default=DEFAULT_TRAINING.trucks)
        parser.add_argument("--days", type=float, default=DEFAULT_TRAINING.days)
        parser.add_argument("--seed", type=int, default=DEFAULT_TRAINING.seed)
        parser.add_argument("--fault-rate", type=float, default=DEFAULT_TRAINING.fault_rate)
        parser.add_argument(
            "--no-activate", action="store_true", help="Register without activating"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing if both tasks already have an active model (used by the demo)",
        )

    def handle(self, *args, **options) -> None:
        if options["if_missing"] and all(
            model_version_active(task=task) for task in ModelVersion.Task.values
        ):
            self.stdout.write("train_model: active models exist; nothing to do")
            return
        started = time.perf_counter()
        dataset = self._dataset(options)
        trained = dataset_train(
            dataset, seed=options["seed"], threads=settings.ANALYTICS_TRAIN_THREADS
        )
        try:
            versions = models_register(
                trained, metrics=trained.metrics, activate=not options["no_activate"]
            )
        except ModelRegistryError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"trained on data set {dataset.sha256} in {time.perf_counter() - started:.1f} s"
        )
        for task, version in versions.items():
            state = "active" if version.active else "not active"
            self.stdout.write(
                f"{version} ({state}): params {json.dumps(trained.params[task]['decision'])}, "
                f"rounds {trained.params[task]['rounds']}"
            )
        events = trained.metrics["breach"]["validation_events"]
        self.stdout.write("held-out shipments, event level:")
        for name, value in events.items():
            self.stdout.write(f"  {name:45} {value}")

    def _dataset(self, options: dict):
        try:
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
            self.stdout.write(f"data set {spec.name} under {settings.ANALYTICS_DATASET_DIR}")
            return dataset_ensure(spec, settings.ANALYTICS_DATASET_DIR)
        except DatasetError as error:
            raise CommandError(str(error)) from None

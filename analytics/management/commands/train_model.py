"""manage.py train_model: generate or take a data set, train both models, register them."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.default_model import SHIPPED_DIR, default_model_write
from analytics.management.dataset_options import (
    add_dataset_arguments,
    dataset_from_options,
    dataset_twin_from_options,
)
from analytics.models import ModelVersion
from analytics.registry import ModelRegistryError, model_version_active
from analytics.training import DEFAULT_TRAINING, dataset_train, models_register


class Command(BaseCommand):
    help = (
        "Train the breach and breach_soon models on a data set (generated from the "
        "simulator unless --data is given), evaluate them on held-out shipments and register them."
    )

    def add_arguments(self, parser) -> None:
        add_dataset_arguments(parser, DEFAULT_TRAINING)
        parser.add_argument(
            "--no-activate", action="store_true", help="Register without activating"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing if both tasks already have an active model",
        )
        parser.add_argument(
            "--ship",
            action="store_true",
            help="Also write the models as the default shipped with the code "
            "(analytics/default_model)",
        )

    def handle(self, *args, **options) -> None:
        if options["if_missing"] and all(
            model_version_active(task=task) for task in ModelVersion.Task.values
        ):
            self.stdout.write("train_model: active models exist; nothing to do")
            return
        started = time.perf_counter()
        dataset = dataset_from_options(options, announce=self.stdout.write)
        trained = dataset_train(
            dataset,
            seed=options["seed"],
            threads=settings.ANALYTICS_TRAIN_THREADS,
            twin=dataset_twin_from_options(options, dataset),
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
        if options["ship"]:
            default_model_write(trained, data_config=dataset.manifest["config"])
            self.stdout.write(f"shipped as the default model in {SHIPPED_DIR}")
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

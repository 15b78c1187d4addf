"""The data-set options train_model and evaluate_model share: a directory, or a
simulated fleet (trucks, days, seed, fault rate) built once and reused; and
the twin of that data set (``analytics.dataset``)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from analytics.training import (
    Dataset,
    DatasetError,
    DatasetSpec,
    dataset_ensure,
    dataset_load,
    dataset_twin_ensure,
    twin_differs,
)

# Simulating is most of train_model's time, and the simulator's processes do
# not wait on each other as OpenMP threads do: one per core, up to two.
SIMULATOR_JOBS = min(os.cpu_count() or 1, 2)


def add_dataset_arguments(parser: ArgumentParser, defaults: DatasetSpec) -> None:
    parser.add_argument("--data", type=Path, help="A data set directory (manifest.json)")
    parser.add_argument("--trucks", type=int, default=defaults.trucks)
    parser.add_argument("--days", type=float, default=defaults.days)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--fault-rate", type=float, default=defaults.fault_rate)


def dataset_from_options(options: dict, announce: Callable[[str], object] | None = None) -> Dataset:
    """The data set the options name; a CommandError for bad options or files."""
    try:
        if options["data"] is not None:
            return dataset_load(options["data"])
        if options["trucks"] < 1 or options["days"] <= 0 or options["fault_rate"] < 0:
            raise CommandError("--trucks must be >= 1, --days > 0 and --fault-rate >= 0")
        spec = _spec(options)
        if announce is not None:
            announce(f"data set {spec.name} under {settings.ANALYTICS_DATASET_DIR}")
        return dataset_ensure(spec, settings.ANALYTICS_DATASET_DIR, jobs=SIMULATOR_JOBS)
    except DatasetError as error:
        raise CommandError(str(error)) from None


def dataset_twin_from_options(options: dict, dataset: Dataset) -> Dataset | None:
    """The twin of ``dataset``, the data set the options name: built next to it, or reused.

    None for a ``--data`` set whose manifest has no simulator configuration.
    """
    try:
        if options["data"] is not None:
            return dataset_twin_ensure(dataset, options["data"], jobs=SIMULATOR_JOBS)
        spec = replace(_spec(options), twin=True)
        twin = dataset_ensure(spec, settings.ANALYTICS_DATASET_DIR, jobs=SIMULATOR_JOBS)
        reason = twin_differs(dataset, twin)
        if reason:
            raise DatasetError(f"{settings.ANALYTICS_DATASET_DIR / spec.name}: {reason}")
        return twin
    except DatasetError as error:
        raise CommandError(str(error)) from None


def _spec(options: dict) -> DatasetSpec:
    return DatasetSpec(
        trucks=options["trucks"],
        days=options["days"],
        seed=options["seed"],
        fault_rate=options["fault_rate"],
    )

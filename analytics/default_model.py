"""The default model shipped with the code: both boosters and their registry record.

Training the default (``analytics.training.DEFAULT_TRAINING``) simulates and
learns from about a thousand trips, which takes minutes; a fresh clone
installs the shipped result instead, in seconds. ``manage.py train_model
--ship`` writes it (``default_model_write``), ``manage.py
install_default_model`` registers it (``default_model_install``): the same
registry rows and ledger entries as training would give, after checking that
each file is the one its record names and that it takes today's features.
The record names the data set by its SHA-256: the same spec simulates the
same bytes, so anyone can train it again and compare.
"""

from __future__ import annotations

import json
from pathlib import Path

import xgboost
from django.db import transaction

from analytics.features import FEATURES
from analytics.models import ModelVersion
from analytics.registry import (
    ModelRegistryError,
    code_version,
    model_version_active,
    model_version_register,
    sha256_file,
)
from analytics.training import TrainedModels

SHIPPED_DIR = Path(__file__).resolve().parent / "default_model"
RECORD = "record.json"


class ShippedModelError(ModelRegistryError):
    """The shipped default model is missing, altered, or made for other features."""


def default_model_write(
    trained: TrainedModels, *, data_config: dict, directory: Path = SHIPPED_DIR
) -> dict:
    """Write both boosters (UBJSON) and their record into ``directory``; return the record.

    ``data_config``: the data set manifest's ``config``, what simulates it again.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tasks = {}
    for task, booster in trained.boosters.items():
        path = directory / f"{task}.ubj"
        booster.save_model(str(path))
        tasks[task] = {
            "artifact": path.name,
            "artifact_sha256": sha256_file(path),
            "params": trained.params[task],
            "metrics": trained.metrics[task],
        }
    record = {
        "features": list(FEATURES),
        "training_data_sha256": trained.training_data_sha256,
        "training_data_config": data_config,
        "trained_by_code_version": code_version(),
        "xgboost_version": xgboost.__version__,
        "tasks": tasks,
    }
    (directory / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def _record_read(directory: Path) -> dict:
    try:
        record = json.loads((directory / RECORD).read_text())
    except (OSError, ValueError) as error:
        raise ShippedModelError(f"no readable shipped model in {directory}: {error}") from None
    if record.get("features") != list(FEATURES):
        raise ShippedModelError(
            "the shipped model takes other features than analytics.features.FEATURES: "
            "train it again with manage.py train_model --ship"
        )
    if set(record.get("tasks", {})) != set(ModelVersion.Task.values):
        raise ShippedModelError(f"the shipped record must name both tasks: {directory / RECORD}")
    return record


def default_model_check(directory: Path = SHIPPED_DIR) -> dict:
    """The shipped record, once every file is the one it names; else ``ShippedModelError``."""
    record = _record_read(directory)
    for task, entry in record["tasks"].items():
        path = directory / entry["artifact"]
        if not path.is_file() or sha256_file(path) != entry["artifact_sha256"]:
            raise ShippedModelError(
                f"the shipped {task} model {path} is not the one its record names"
            )
    return record


def default_model_install(directory: Path = SHIPPED_DIR) -> dict[str, ModelVersion] | None:
    """Register and activate the shipped boosters, unless both tasks have an active model.

    None when there was nothing to do. Both versions register in one
    transaction: never one task's default beside the other's absence.
    """
    if all(model_version_active(task=task) for task in ModelVersion.Task.values):
        return None
    record = default_model_check(directory)
    versions = {}
    with transaction.atomic():
        for task, entry in record["tasks"].items():
            versions[task] = model_version_register(
                task=task,
                booster=xgboost.Booster(model_file=str(directory / entry["artifact"])),
                features=record["features"],
                params=entry["params"],
                metrics=entry["metrics"],
                training_data_sha256=record["training_data_sha256"],
                activate=True,
            )
            if versions[task].artifact_sha256 != entry["artifact_sha256"]:
                # This XGBoost saves the model to other bytes: the registry
                # would name a file that is not the shipped one.
                raise ShippedModelError(
                    f"the shipped {task} model saves to other bytes with XGBoost "
                    f"{xgboost.__version__} than with {record['xgboost_version']}"
                )
    return versions

"""Training the two models on a labelled data set (docs/analytics.md, "Models").

* ``breach``: ``multi:softprob`` over ``BREACH_CLASSES`` (normal, breach, sensor fault);
* ``breach_soon``: ``binary:logistic``, a breach starting within the horizon.

Both take ``analytics.features.features`` rows, columns in ``FEATURES`` order.
Validation holds out whole shipments: rows of one trip are strongly correlated,
so a row-level split would grade the model on trips it has already seen.
The decision thresholds are chosen on those validation shipments and stored
with each version in ``params["decision"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

from analytics.dataset import FORMAT as DATASET_FORMAT
from analytics.dataset import dataset_build
from analytics.decision import BREACH, BREACH_CLASSES, NORMAL, SENSOR_FAULT
from analytics.evaluation import event_report, model_flags
from analytics.features import FEATURES, features
from analytics.models import ModelVersion
from analytics.readings import readings_frame
from analytics.registry import model_version_register, sha256_file

# Candidate thresholds: fine enough to place a decision, coarse enough that
# a few validation rows do not decide it.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
BOOSTER_PARAMS = {
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
}
MAX_ROUNDS = 300
EARLY_STOPPING_ROUNDS = 20


class DatasetError(ValueError):
    """A data set directory is incomplete or its files are not the ones its manifest names."""


@dataclass(frozen=True)
class Dataset:
    readings: pd.DataFrame
    labels: pd.DataFrame  # labels.csv: per (shipment, t)
    sensor_faults: pd.DataFrame  # sensor_faults.csv: per (shipment, device, t)
    manifest: dict
    sha256: str  # of manifest.json, which names every file by its SHA-256


@dataclass(frozen=True)
class TrainedModels:
    breach: xgboost.Booster
    breach_soon: xgboost.Booster
    params: dict[str, dict]  # per task, as registered (with "decision")
    metrics: dict[str, dict]  # per task, on the validation shipments
    training_data_sha256: str
    validation_shipments: pd.Index

    @property
    def thresholds(self) -> dict[str, float]:
        return {**self.params["breach"]["decision"], **self.params["breach_soon"]["decision"]}


def _times(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, utc=True, format="ISO8601")


def dataset_load(data_dir: Path) -> Dataset:
    """Read a data set written by ``analytics.dataset.dataset_build``, checking every hash.

    Raw data is immutable: a file that no longer matches its manifest would
    make the recorded training-data hash a lie, so it is refused.
    """
    data_dir = Path(data_dir)
    manifest_path = data_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        for name, entry in manifest["files"].items():
            if sha256_file(data_dir / name) != entry["sha256"]:
                raise DatasetError(f"{data_dir / name} differs from its manifest")
    except (OSError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{data_dir} is not a readable data set: {error}") from None
    labels = pd.read_csv(data_dir / "labels.csv")
    sensor_faults = pd.read_csv(data_dir / "sensor_faults.csv")
    return Dataset(
        readings=readings_frame(data_dir / "readings.csv"),
        labels=labels.assign(t=_times(labels["t"])),
        sensor_faults=sensor_faults.assign(t=_times(sensor_faults["t"])),
        manifest=manifest,
        sha256=sha256_file(manifest_path),
    )


@dataclass(frozen=True)
class DatasetSpec:
    """What ``dataset_build`` simulates; the same spec gives the same bytes."""

    trucks: int
    days: float
    seed: int
    fault_rate: float

    @property
    def name(self) -> str:
        return f"t{self.trucks}-d{self.days:g}-s{self.seed}-f{self.fault_rate:g}"


# The default model of a fresh clone: big enough to see every fault kind and
# dozens of breaches, small enough to simulate and train in about 20 s here.
DEFAULT_TRAINING = DatasetSpec(trucks=30, days=2, seed=1, fault_rate=6.0)
# Evaluation uses other seeds than training: trips the models never saw.
DEFAULT_EVALUATION = DatasetSpec(trucks=30, days=2, seed=2, fault_rate=6.0)


def dataset_ensure(spec: DatasetSpec, root: Path) -> Dataset:
    """The data set of ``spec`` under ``root``: reused if its files match its manifest, else built.

    Building is deterministic, so a data set on disk that checks out is
    exactly what building it again would give.
    """
    out_dir = Path(root) / spec.name
    if (out_dir / "manifest.json").exists():
        try:
            dataset = dataset_load(out_dir)
        except DatasetError:
            pass  # a partial or altered set: build it again, the files are derived
        else:
            # A set of an older format was simulated differently under the same name.
            if dataset.manifest.get("format") == DATASET_FORMAT:
                return dataset
    dataset_build(
        out_dir=out_dir,
        trucks=spec.trucks,
        days=spec.days,
        seed=spec.seed,
        fault_rate=spec.fault_rate,
    )
    return dataset_load(out_dir)


def training_frame(
    feature_rows: pd.DataFrame, labels: pd.DataFrame, sensor_faults: pd.DataFrame
) -> pd.DataFrame:
    """Feature rows with their labels: ``breach_class`` (0, 1, 2) and ``breach_soon`` (0, 1).

    ``breach_class`` is breach if the cargo is in breach; else sensor fault if
    any device of the shipment has a probe fault at ``t``; else normal. Rows
    without a label (outside the simulated truth) are dropped.
    """
    fault = sensor_faults.groupby(["shipment", "t"], sort=False)["sensor_fault"].any()
    truth = labels.set_index(["shipment", "t"])[["breach", "breach_soon"]]
    joined = feature_rows.join(truth, how="inner").join(fault, how="left")
    breach_class = np.select(
        [joined["breach"].astype(bool), joined["sensor_fault"].fillna(False).astype(bool)],
        [BREACH, SENSOR_FAULT],
        default=NORMAL,
    )
    return joined[list(FEATURES)].assign(
        breach_class=breach_class.astype("int64"),
        breach_soon=joined["breach_soon"].astype("int64"),
    )


def shipment_split(shipments: pd.Index, *, validation_share: float, seed: int) -> pd.Index:
    """The shipments held out for validation: a seeded random share, never fewer than one.

    Chosen among the sorted distinct shipments, so the row order does not matter.
    """
    distinct = np.sort(shipments.unique().to_numpy())
    count = max(1, round(len(distinct) * validation_share))
    picked = np.random.default_rng(seed).permutation(len(distinct))[:count]
    return pd.Index(np.sort(distinct[picked]))


def _balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Each class weighs as much in total as any other: breaches are a few percent of rows."""
    counts = np.bincount(labels)
    per_class = len(labels) / (np.count_nonzero(counts) * np.maximum(counts, 1))
    return per_class[labels]


def _f1_threshold(prob: np.ndarray, truth: np.ndarray) -> tuple[float, dict]:
    """The grid threshold with the best F1 on validation rows, and its figures."""
    best = (0.5, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
    positives = max(int(truth.sum()), 1)
    for threshold in THRESHOLD_GRID:
        predicted = prob >= threshold
        hits = int(np.count_nonzero(predicted & truth))
        precision = hits / max(int(predicted.sum()), 1)
        recall = hits / positives
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        if f1 > best[1]["f1"]:
            best = (float(threshold), {"precision": precision, "recall": recall, "f1": f1})
    return best[0], {name: round(value, 4) for name, value in best[1].items()}


def _train_one(
    params: dict, train: pd.DataFrame, valid: pd.DataFrame, label: str
) -> xgboost.Booster:
    def matrix(rows: pd.DataFrame) -> xgboost.DMatrix:
        return xgboost.DMatrix(
            rows[list(FEATURES)],
            label=rows[label],
            weight=_balanced_weights(rows[label].to_numpy()),
            feature_names=list(FEATURES),
        )

    booster = xgboost.train(
        params,
        matrix(train),
        num_boost_round=MAX_ROUNDS,
        evals=[(matrix(valid), "validation")],
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose_eval=False,
    )
    # Keep only the trees up to the best round: the saved file is then exactly
    # the model that was validated, whatever predict call scoring uses.
    return booster[: booster.best_iteration + 1]


def _roc_auc(prob: np.ndarray, truth: np.ndarray) -> float | None:
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if not positives or not negatives:
        return None
    ranks = pd.Series(prob).rank().to_numpy()
    return (ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def models_train(
    frame: pd.DataFrame,
    *,
    training_data_sha256: str,
    seed: int,
    threads: int,
    validation_share: float = 0.25,
) -> TrainedModels:
    """Train both models on ``training_frame`` rows; the same inputs give the same boosters."""
    held_out = shipment_split(
        frame.index.get_level_values("shipment"), validation_share=validation_share, seed=seed
    )
    in_valid = frame.index.get_level_values("shipment").isin(held_out)
    train, valid = frame[~in_valid], frame[in_valid]
    common = {**BOOSTER_PARAMS, "seed": seed, "nthread": threads}

    breach_params = {**common, "objective": "multi:softprob", "num_class": len(BREACH_CLASSES)}
    breach = _train_one({**breach_params, "eval_metric": "mlogloss"}, train, valid, "breach_class")
    soon_params = {**common, "objective": "binary:logistic"}
    soon = _train_one({**soon_params, "eval_metric": "logloss"}, train, valid, "breach_soon")

    matrix = xgboost.DMatrix(valid[list(FEATURES)], feature_names=list(FEATURES))
    class_prob = breach.predict(matrix)
    soon_prob = soon.predict(matrix)
    classes = valid["breach_class"].to_numpy()
    soon_truth = valid["breach_soon"].to_numpy().astype(bool)
    decision = {}
    row_metrics: dict[str, dict] = {}
    for index, name in ((BREACH, "breach"), (SENSOR_FAULT, "sensor_fault")):
        decision[name], row_metrics[name] = _f1_threshold(class_prob[:, index], classes == index)
    decision["breach_soon"], row_metrics["breach_soon"] = _f1_threshold(soon_prob, soon_truth)
    auc = _roc_auc(soon_prob, soon_truth)

    split = {
        "validation_share": validation_share,
        "training_shipments": int(train.index.get_level_values("shipment").nunique()),
        "validation_shipments": len(held_out),
        "training_rows": len(train),
        "validation_rows": len(valid),
    }
    return TrainedModels(
        breach=breach,
        breach_soon=soon,
        params={
            "breach": {
                **breach_params,
                "classes": list(BREACH_CLASSES),
                "rounds": breach.num_boosted_rounds(),
                "decision": {name: decision[name] for name in ("breach", "sensor_fault")},
            },
            "breach_soon": {
                **soon_params,
                "rounds": soon.num_boosted_rounds(),
                "decision": {"breach_soon": decision["breach_soon"]},
            },
        },
        metrics={
            "breach": {
                **split,
                "rows": {name: row_metrics[name] for name in ("breach", "sensor_fault")},
                "class_rows": {
                    name: int(np.count_nonzero(classes == index))
                    for index, name in enumerate(BREACH_CLASSES)
                },
            },
            "breach_soon": {
                **split,
                "rows": {"breach_soon": row_metrics["breach_soon"]},
                "roc_auc": None if auc is None else round(float(auc), 4),
                "positive_rows": int(soon_truth.sum()),
            },
        },
        training_data_sha256=training_data_sha256,
        validation_shipments=held_out,
    )


def dataset_train(dataset: Dataset, *, seed: int, threads: int) -> TrainedModels:
    """Train on a data set; the metrics include the event report on its validation shipments."""
    feature_rows = features(dataset.readings)
    frame = training_frame(feature_rows, dataset.labels, dataset.sensor_faults)
    trained = models_train(frame, training_data_sha256=dataset.sha256, seed=seed, threads=threads)
    held_out = trained.validation_shipments
    rows = feature_rows[feature_rows.index.get_level_values("shipment").isin(held_out)]
    flags = model_flags(
        rows, breach=trained.breach, breach_soon=trained.breach_soon, thresholds=trained.thresholds
    )
    events = event_report(
        flags,
        dataset.labels[dataset.labels["shipment"].isin(held_out)],
        dataset.sensor_faults[dataset.sensor_faults["shipment"].isin(held_out)],
        horizon_s=dataset.manifest["labels"]["horizon_s"],
    )
    for metrics in trained.metrics.values():
        metrics["validation_events"] = events
    return trained


def models_register(
    trained: TrainedModels, *, metrics: dict[str, dict], activate: bool
) -> dict[str, ModelVersion]:
    """Register both boosters with their parameters and ``metrics`` (per task)."""
    return {
        task: model_version_register(
            task=task,
            booster=booster,
            features=list(FEATURES),
            params=trained.params[task],
            metrics=metrics[task],
            training_data_sha256=trained.training_data_sha256,
            activate=activate,
        )
        for task, booster in (
            (ModelVersion.Task.BREACH.value, trained.breach),
            (ModelVersion.Task.BREACH_SOON.value, trained.breach_soon),
        )
    }

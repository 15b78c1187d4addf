"""Analytics training figures: a script that prints numbers, not a test.

    .venv/bin/python bench/training_bench.py [--rows N] [--threads J] [--trucks-per-part T] \
        [--days D] [--seed S] [--fault-rate F]

1. A genuinely simulated data set of about ``--rows`` labelled rows: fleets
   of ``--trucks-per-part`` trucks for ``--days`` days, seeds ``--seed``,
   ``--seed`` + 1, ... (``analytics.dataset.dataset_build``: the simulator's
   offline mode, faults and mid-trip failures included) until the rows are
   reached, each fleet featured (``features``) and labelled
   (``training_frame``) like ``dataset_train`` does; shipment names get the
   fleet's seed so that no two fleets share one. Simulating is the slow part
   (minutes), so each fleet's readings and labels are cached under
   ``var/bench/training/fleets/`` by their parameters, and the labelled
   frame under ``var/bench/training/`` by the parameters and the feature
   list; how long generation took is recorded next to it and printed again
   when the cache is reused.
2. Trains both models with ``analytics.training.models_train`` (its parameters,
   ``MAX_ROUNDS`` with early stopping, balanced weights, thresholds), with
   ``--threads`` XGBoost threads, in a fresh process so that its peak resident
   set (``VmHWM``) is the training's, not the simulator's. Per model: wall
   and CPU time, rounds kept and trained; then the whole call.
3. Load: the load average before and after, and how much of the machine other
   processes used during training (all CPU time minus the training's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import xgboost

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT as REPOSITORY  # also puts the repository on sys.path
from benchlib import exclusive_run

# analytics.training imports the model registry; no database is touched.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coldchain.settings")
import django

django.setup()

from analytics import training  # noqa: E402
from analytics.features import FEATURES, features  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak resident set since it started, in MB (Linux).

    Not ``ru_maxrss``: Linux carries it across exec, so a spawned child would
    report the parent's resident set at fork time. ``VmHWM`` belongs to the
    address space, which exec replaces.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


CACHE_DIR = REPOSITORY / "var" / "bench" / "training"


def fleet_frames(
    spec: training.DatasetSpec,
) -> tuple[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], dict]:
    """One fleet's readings, labels and sensor-fault labels, simulated once and cached,
    and how long simulating them took (recorded when it was done)."""
    cached = CACHE_DIR / "fleets" / f"{spec.name}-{dataset_format_tag()}.pkl"
    timing = cached.with_suffix(".json")
    if cached.exists() and timing.exists():
        return pd.read_pickle(cached), json.loads(timing.read_text())
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="coldchain-training-bench-") as directory:
        dataset = training.dataset_ensure(spec, Path(directory))
    took = {
        "simulate_wall_s": round(time.perf_counter() - wall, 1),
        "simulate_cpu_s": round(time.process_time() - cpu, 1),
    }
    frames = (dataset.readings, dataset.labels, dataset.sensor_faults)
    cached.parent.mkdir(parents=True, exist_ok=True)
    pd.to_pickle(frames, cached)
    timing.write_text(json.dumps(took) + "\n")
    return frames, took


def dataset_format_tag() -> str:
    return training.DATASET_FORMAT.rsplit("/", 1)[-1]


def labelled_rows(
    *, rows: int, trucks_per_part: int, days: float, seed: int, fault_rate: float
) -> tuple[pd.DataFrame, dict]:
    """About ``rows`` labelled rows of simulated fleets, and how long generating them took.

    The frame is cached by its parameters and by the feature list, so a
    change of features makes a new one (from the cached fleets).
    """
    features_tag = hashlib.sha256("\n".join(FEATURES).encode()).hexdigest()[:12]
    key = (
        f"r{rows}-p{trucks_per_part}-d{days:g}-s{seed}-f{fault_rate:g}"
        f"-{dataset_format_tag()}-{features_tag}"
    )
    frame_path, info_path = CACHE_DIR / f"{key}.pkl", CACHE_DIR / f"{key}.json"
    if frame_path.exists() and info_path.exists():
        return pd.read_pickle(frame_path), json.loads(info_path.read_text())
    parts, fleets, total = [], [], 0
    while total < rows:
        spec = training.DatasetSpec(trucks_per_part, days, seed + len(fleets), fault_rate)
        (readings, labels, sensor_faults), simulated = fleet_frames(spec)
        wall = time.perf_counter()
        frame = training.training_frame(features(readings), labels, sensor_faults)
        frame.index = frame.index.set_levels(
            f"s{spec.seed}:" + frame.index.levels[0].astype(str), level="shipment"
        )
        parts.append(frame)
        total += len(frame)
        fleets.append(
            {
                "fleet": spec.name,
                "readings": len(readings),
                "rows": len(frame),
                **simulated,
                "features_wall_s": round(time.perf_counter() - wall, 1),
            }
        )
        print(f"  {fleets[-1]}", flush=True)
    frame = pd.concat(parts).iloc[:rows]
    info = {"fleets": fleets, "rows": len(frame)}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    frame.to_pickle(frame_path)
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return frame, info


def train_child(path: str, threads: int, seed: int, results) -> None:
    """Runs in a spawned process: load the frame, train, send the figures back."""
    rss_imported = peak_rss_mb()
    frame = pd.read_pickle(path)
    rss_loaded = peak_rss_mb()
    per_model: list[dict] = []
    train_one = training._train_one

    # Wrapped, not copied: models_train calls it once per model, so this
    # splits the time between the two boosters and the threshold search.
    def timed(params, train, valid, label):
        wall, cpu = time.perf_counter(), time.process_time()
        booster = train_one(params, train, valid, label)
        kept = booster.num_boosted_rounds()
        per_model.append(
            {
                "label": label,
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "kept": kept,
                # Early stopping ends EARLY_STOPPING_ROUNDS after the best round.
                "trained": min(kept + training.EARLY_STOPPING_ROUNDS, training.MAX_ROUNDS),
            }
        )
        return booster

    training._train_one = timed
    # Measured here, not around the process: its start-up is not training.
    load_before, busy = os.getloadavg(), busy_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    trained = training.models_train(frame, training_data_sha256="bench", seed=seed, threads=threads)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    results.put(
        {
            "wall": wall,
            "cpu": cpu,
            "others": busy_seconds() - busy - cpu,
            "load": (load_before, os.getloadavg()),
            "models": per_model,
            "split": {
                key: trained.metrics["breach"][key]
                for key in ("training_rows", "validation_rows", "training_shipments")
            },
            "rss_imported": rss_imported,
            "rss_loaded": rss_loaded,
            "rss_peak": peak_rss_mb(),
        }
    )


def busy_seconds() -> float:
    cpu = psutil.cpu_times()
    return sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trucks-per-part", type=int, default=100)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--fault-rate", type=float, default=training.DEFAULT_TRAINING.fault_rate)
    args = parser.parse_args()
    if args.rows < 1 or args.threads < 1 or args.trucks_per_part < 1 or args.days <= 0:
        parser.error("--rows, --threads and --trucks-per-part must be >= 1, --days > 0")

    print(
        f"python {platform.python_version()}, xgboost {xgboost.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} cores, {args.threads} xgboost threads"
    )
    frame, info = labelled_rows(
        rows=args.rows,
        trucks_per_part=args.trucks_per_part,
        days=args.days,
        seed=args.seed,
        fault_rate=args.fault_rate,
    )
    fleets = info["fleets"]
    # A fleet simulated by another process has no CPU time of this one's.
    timed = [fleet["simulate_cpu_s"] for fleet in fleets if fleet["simulate_cpu_s"] is not None]
    print(
        f"{len(frame):,} labelled rows of {frame.index.get_level_values('shipment').nunique():,} "
        f"simulated shipments ({len(fleets)} fleets {fleets[0]['fleet']} ...; "
        f"{sum(fleet['readings'] for fleet in fleets):,} readings); generating them took "
        f"{sum(fleet['simulate_wall_s'] for fleet in fleets):,.0f} s wall "
        f"({sum(timed):,.0f} s CPU for the {len(timed)} fleets timed in process) "
        f"to simulate and {sum(fleet['features_wall_s'] for fleet in fleets):,.0f} s "
        f"to feature and label"
    )
    classes = frame["breach_class"].value_counts().sort_index().to_dict()
    print(
        f"frame: {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MB in pandas; "
        f"breach_class counts {classes}, breach_soon {int(frame['breach_soon'].sum()):,}"
    )
    with tempfile.TemporaryDirectory(prefix="coldchain-training-bench-") as directory:
        path = Path(directory) / "frame.pkl"
        frame.to_pickle(path)
        del frame

        # A fresh interpreter: a forked child would inherit this process's peak.
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        child = context.Process(target=train_child, args=(str(path), args.threads, 0, results))
        child.start()
        result = results.get()
        child.join()

    split = result["split"]
    print(
        f"models_train, {split['training_rows']:,} training rows "
        f"({split['training_shipments']} shipments), {split['validation_rows']:,} validation rows:"
    )
    for model in result["models"]:
        print(
            f"  {model['label']:13s} wall {model['wall']:7.1f} s   CPU {model['cpu']:7.1f} s   "
            f"rounds kept {model['kept']:3d}, trained {model['trained']:3d}   "
            f"{model['wall'] / model['trained'] * 1e3:6.0f} ms/round"
        )
    print(
        f"  {'whole call':13s} wall {result['wall']:7.1f} s   CPU {result['cpu']:7.1f} s   "
        f"(DMatrix builds, validation predictions and threshold search included)"
    )
    print(
        f"memory (training process): peak RSS {result['rss_imported']:,.0f} MB after imports, "
        f"{result['rss_loaded']:,.0f} MB with the frame loaded, {result['rss_peak']:,.0f} MB peak"
    )
    before, after = (" / ".join(f"{value:.2f}" for value in load) for load in result["load"])
    print(
        f"load average before {before}, after {after}; other processes used "
        f"{max(result['others'], 0.0) / result['wall'] * 100:.0f} % of a core during training"
    )


if __name__ == "__main__":
    with exclusive_run():
        main()

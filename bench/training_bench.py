"""Analytics training figures: a script that prints numbers, not a test.

    .venv/bin/python bench/training_bench.py [--rows N] [--threads J] [--trucks T] \
        [--days D] [--seed S] [--fault-rate F] [--max-simulate-s SECONDS]

1. Simulates a source fleet with ``analytics.training.dataset_ensure`` (the
   simulator's offline mode, faults included) in a temporary directory and
   labels its ``features`` rows with ``analytics.training.training_frame``:
   the rows ``dataset_train`` trains on. Prints how long that took per row and
   what ``--rows`` rows would take.
2. If that projection is within ``--max-simulate-s``, simulates a fleet big
   enough for ``--rows`` rows and keeps the first ``--rows``. Otherwise the
   ``--rows`` rows are the source rows tiled: copy k of a shipment keeps its
   name and is shifted k spans later in time, so all copies of a trip fall on
   the same side of the shipment-level validation split (no trip is graded on
   its own copy). Tiled rows cost what real rows cost per round, but they hold
   no more variety than the source fleet: the number of rounds early stopping
   keeps is the source fleet's, not that of a fleet of ``--rows`` rows.
3. Trains both models with ``analytics.training.models_train`` (its parameters,
   ``MAX_ROUNDS`` with early stopping, balanced weights, thresholds), with
   ``--threads`` XGBoost threads, in a fresh process so that its peak resident
   set (``VmHWM``) is the training's, not the simulator's. Per model: wall
   and CPU time, rounds kept and trained; then the whole call.
4. Load: the load average before and after, and how much of the machine other
   processes used during training (all CPU time minus the training's).
"""

from __future__ import annotations

import argparse
import math
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
from benchlib import exclusive_run  # also puts the repository on sys.path

# analytics.training imports the model registry; no database is touched.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coldchain.settings")
import django

django.setup()

from analytics import training  # noqa: E402
from analytics.features import features  # noqa: E402


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


def source_frame(spec: training.DatasetSpec, root: Path) -> tuple[pd.DataFrame, float]:
    """The labelled training rows of a simulated fleet and the seconds they took."""
    start = time.perf_counter()
    dataset = training.dataset_ensure(spec, root)
    frame = training.training_frame(
        features(dataset.readings), dataset.labels, dataset.sensor_faults
    )
    return frame, time.perf_counter() - start


def tiled(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` rows made of copies of ``frame``, copy k shifted k whole spans later."""
    shipments = frame.index.get_level_values("shipment")
    times = frame.index.get_level_values("t")
    # Whole days past the fleet's span: copies never share a (shipment, t).
    shift = pd.Timedelta(days=math.ceil((times.max() - times.min()) / pd.Timedelta(days=1)) + 1)
    copies = []
    for k in range(math.ceil(rows / len(frame))):
        index = pd.MultiIndex.from_arrays([shipments, times + k * shift], names=["shipment", "t"])
        copies.append(frame.set_axis(index))
    return pd.concat(copies).iloc[:rows]


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
    parser.add_argument("--trucks", type=int, default=100)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=training.DEFAULT_TRAINING.fault_rate)
    parser.add_argument("--max-simulate-s", type=float, default=300.0)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, xgboost {xgboost.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} cores, {args.threads} xgboost threads"
    )
    with tempfile.TemporaryDirectory(prefix="coldchain-training-bench-") as directory:
        root = Path(directory)
        spec = training.DatasetSpec(args.trucks, args.days, args.seed, args.fault_rate)
        source, seconds = source_frame(spec, root / "source")
        projected = seconds * args.rows / len(source)
        print(
            f"source fleet {spec.name}: {len(source):,} labelled rows, "
            f"{source.index.get_level_values('shipment').nunique()} shipments, "
            f"simulated + featured in {seconds:.1f} s; {args.rows:,} rows would take "
            f"~{projected:.0f} s"
        )
        if projected <= args.max_simulate_s:
            # Rows grow with trucks; 10 % spare so the fleet is not short.
            trucks = math.ceil(args.trucks * args.rows / len(source) * 1.1)
            big = training.DatasetSpec(trucks, args.days, args.seed, args.fault_rate)
            frame, seconds = source_frame(big, root / "fleet")
            frame = frame.iloc[: args.rows]
            print(f"simulated fleet {big.name} in {seconds:.1f} s; kept {len(frame):,} rows")
        else:
            frame = tiled(source, args.rows)
            print(
                f"over {args.max_simulate_s:.0f} s: {len(frame):,} rows are the source rows "
                f"tiled {len(frame) / len(source):.1f} times (shifted in time, same shipments)"
            )
        classes = frame["breach_class"].value_counts().sort_index().to_dict()
        print(
            f"frame: {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MB in pandas; "
            f"breach_class counts {classes}, breach_soon {int(frame['breach_soon'].sum()):,}"
        )
        path = root / "frame.pkl"
        frame.to_pickle(path)
        del frame, source

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

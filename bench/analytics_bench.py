"""Analytics scoring figures: a script that prints numbers, not a test.

    .venv/bin/python bench/analytics_bench.py [--trucks N] [--days D] [--seed S] \
        [--trees T] [--depth D] [--latency-samples K] [--threads J]

1. Builds a fleet with ``analytics.dataset.dataset_build`` (the simulator's
   offline mode, faults included) in a temporary directory.
2. Trains the two boosters of the scoring contract (docs/scoring.md) on that
   fleet's own labels, ``--trees`` rounds of depth ``--depth``: the size of a
   production model, so prediction and TreeSHAP cost what they will; their
   quality is not the point here (``evaluate_model`` measures that). A small
   fleet may hold no breach-soon window; the breach-soon booster is then
   trained on the breach labels instead, so that it still grows real trees.
3. Fleet throughput, in windows/s (a window is one (shipment, t) row the
   models score, every 5 minutes): ``features``, ``score``, ``explain`` and the
   three together, best of ``--repeats`` runs.
4. Latency of one shipment's evaluation: for ``--latency-samples`` random
   (shipment, t), the features, score and explanation of the last hour of
   readings up to ``t``, keeping the row at ``t``; p50 / p99.
5. Peak memory: the process's peak resident set (``ru_maxrss``), after
   loading the fleet and at the end, and the Python heap peak
   (``tracemalloc``) of one fleet evaluation. XGBoost's own allocations are in
   the resident figure only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import xgboost

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import exclusive_run, percentile

from analytics.dataset import dataset_build
from analytics.explain import explain
from analytics.features import FEATURES, features
from analytics.readings import readings_frame
from analytics.scoring import DEFAULT_THRESHOLD, score

MIN_POSITIVES = 50


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def labelled(table: pd.DataFrame, data_dir: Path) -> tuple[pd.Series, pd.Series]:
    """Breach class (0 normal, 1 breach, 2 sensor fault) and breach-soon label per feature row."""
    times = {"t": lambda frame: pd.to_datetime(frame["t"], utc=True, format="ISO8601")}
    labels = pd.read_csv(data_dir / "labels.csv").assign(**times)
    faults = pd.read_csv(data_dir / "sensor_faults.csv").assign(**times)
    labels = labels.set_index(["shipment", "t"])
    any_fault = faults.groupby(["shipment", "t"])["sensor_fault"].any()
    rows = table.index
    breach = labels["breach"].reindex(rows, fill_value=False).astype(bool)
    fault = any_fault.reindex(rows, fill_value=False).astype(bool)
    soon = labels["breach_soon"].reindex(rows, fill_value=False).astype(bool)
    classes = breach.astype(int).where(breach, fault.astype(int) * 2)
    return classes, soon.astype(int)


def train(table: pd.DataFrame, labels: pd.Series, params: dict, trees: int) -> xgboost.Booster:
    matrix = xgboost.DMatrix(table.to_numpy(), labels.to_numpy(), feature_names=list(FEATURES))
    return xgboost.train(params, matrix, num_boost_round=trees)


def best_of(repeats: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trucks", type=int, default=20)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--depth", type=int, default=6)
    # 1: what analytics.selectors loads the registered boosters with.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, xgboost {xgboost.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} cores, {args.threads} xgboost threads"
    )
    with tempfile.TemporaryDirectory(prefix="coldchain-analytics-bench-") as directory:
        data_dir = Path(directory)
        start = time.perf_counter()
        dataset_build(
            out_dir=data_dir, trucks=args.trucks, days=args.days, seed=args.seed, fault_rate=2.0
        )
        readings = readings_frame(data_dir / "readings.csv")
        table = features(readings)
        classes, soon = labelled(table, data_dir)
        shipment_hours = (
            readings.groupby("shipment")["ts"].agg(lambda ts: ts.max() - ts.min()).sum()
        ).total_seconds() / 3600.0
        print(
            f"fleet: {args.trucks} trucks x {args.days:g} days, seed {args.seed}: "
            f"{readings['shipment'].nunique()} shipments, {shipment_hours:,.0f} shipment-hours, "
            f"{len(readings):,} readings, {len(table):,} windows "
            f"(built in {time.perf_counter() - start:.1f} s); "
            f"windows normal/breach/sensor fault {(classes == 0).sum()}/{(classes == 1).sum()}/"
            f"{(classes == 2).sum()}, breach soon {int(soon.sum())}"
        )
        rss_loaded = peak_rss_mb()

        if soon.sum() < MIN_POSITIVES:
            # A booster's cost depends on its trees, not on its labels, but with
            # (almost) no positive example XGBoost grows single-leaf trees and
            # the figures would flatter the breach-soon model.
            print(f"  fewer than {MIN_POSITIVES} breach-soon windows: trained on breach instead")
            soon = (classes == 1).astype(int)
        common = {"max_depth": args.depth, "nthread": args.threads, "seed": 0, "eta": 0.1}
        start = time.perf_counter()
        models = {
            "breach_model": train(
                table,
                classes,
                {"objective": "multi:softprob", "num_class": 3, **common},
                args.trees,
            ),
            "breach_soon_model": train(
                table, soon, {"objective": "binary:logistic", **common}, args.trees
            ),
        }
        print(
            f"boosters: {args.trees} trees x depth {args.depth} "
            f"(breach: {args.trees} per class x 3), trained in {time.perf_counter() - start:.1f} s"
        )
        thresholds = dict.fromkeys(("breach", "sensor_fault", "breach_soon"), DEFAULT_THRESHOLD)

        windows = len(table)
        featuring, _ = best_of(args.repeats, lambda: features(readings))
        scoring, scores = best_of(
            args.repeats, lambda: score(table, thresholds=thresholds, **models)
        )
        explaining, _ = best_of(args.repeats, lambda: explain(table, scores, **models))

        def evaluate_fleet() -> None:
            fleet = features(readings)
            explain(fleet, score(fleet, thresholds=thresholds, **models), **models)

        together, _ = best_of(args.repeats, evaluate_fleet)
        print(f"fleet throughput, best of {args.repeats} ({windows:,} windows):")
        for name, seconds in (
            ("features", featuring),
            ("score", scoring),
            ("explain (top 3)", explaining),
            ("features + score + explain", together),
        ):
            print(f"  {name:28s} {windows / seconds:12,.0f} windows/s   {seconds:8.3f} s")
        print(f"  flags: {scores['flag'].value_counts().to_dict()}")

        rng = random.Random(args.seed)
        candidates = list(table.index)
        by_shipment = dict(tuple(readings.groupby("shipment", sort=False)))
        parts: dict[str, list[float]] = {"features": [], "score": [], "explain": [], "total": []}
        for _ in range(args.latency_samples):
            shipment, t = rng.choice(candidates)
            rows = by_shipment[shipment]
            start = time.perf_counter()
            last_hour = rows[(rows["ts"] > t - pd.Timedelta(hours=1)) & (rows["ts"] <= t)]
            one = features(last_hour).loc[[(shipment, t)]]
            featured = time.perf_counter()
            decided = score(one, thresholds=thresholds, **models)
            scored = time.perf_counter()
            explain(one, decided, **models)
            end = time.perf_counter()
            for name, seconds in (
                ("features", featured - start),
                ("score", scored - featured),
                ("explain", end - scored),
                ("total", end - start),
            ):
                parts[name].append(seconds)
        print(
            f"one shipment's evaluation (last hour of readings up to t), "
            f"{args.latency_samples} samples:"
        )
        for name, samples in parts.items():
            samples.sort()
            print(
                f"  {name:9s} p50 {statistics.median(samples) * 1e3:7.2f} ms   "
                f"p99 {percentile(samples, 0.99) * 1e3:7.2f} ms   max {samples[-1] * 1e3:7.2f} ms"
            )

        tracemalloc.start()
        evaluate_fleet()
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"memory: peak RSS {rss_loaded:,.0f} MB after loading the fleet, "
            f"{peak_rss_mb():,.0f} MB at the end; Python heap peak of one fleet evaluation "
            f"{heap_peak / 2**20:,.0f} MB"
        )


if __name__ == "__main__":
    with exclusive_run():
        main()

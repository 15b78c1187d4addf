"""Run ingest_e2e.py over a grid of configurations and print a Markdown table.

    .venv/bin/python bench/run_matrix.py --workers 1,2,3 --batch-sizes 200,500,1000 \\
        --devices 100,1000 --readings 200000 --publisher raw --out /tmp/bench-results

Each run is a separate ``ingest_e2e.py`` process (its own servers, database and
cleanup); its JSON lands in --out and the table is rebuilt from every JSON
there, so an interrupted grid can be resumed with --skip-done.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = str(HERE.parent / ".venv" / "bin" / "python")


def label(devices: int, workers: int, batch: int, rate: float, publisher: str) -> str:
    return f"d{devices}-w{workers}-b{batch}-r{int(rate)}-{publisher}"


def interference(figures: dict) -> float:
    """% of one core that processes outside the benchmark used during the steady part."""
    return figures.get("cpu_steady_p05_p95", {}).get("core_pct", {}).get("untracked", 0.0)


def table(out: Path) -> str:
    rows = []
    for path in sorted(out.glob("*.json")):
        f = json.loads(path.read_text())
        c, t, lat = f["config"], f.get("throughput", {}), f.get("latency", {})
        cpu = f["cpu_steady_p05_p95"]["core_pct"] if "cpu_steady_p05_p95" in f else {}
        us = f["cpu_whole_run"]["us_per_reading"]
        rss = f["peak_rss_mb"]
        e2e = lat.get("publish_to_stored", {})
        rows.append(
            (
                c["devices"],
                c["workers"],
                c["batch_size"],
                c["rate"],
                "| "
                + " | ".join(
                    [
                        str(c["devices"]),
                        str(c["workers"]),
                        str(c["batch_size"]),
                        f"{c['rate']:,.0f}" if c["rate"] else "unpaced",
                        c.get("publisher", "paho"),
                        f"{t.get('stored_per_s_p05_p95', 0):,.0f}",
                        f"{t.get('stored_per_s_first_to_last', 0):,.0f}",
                        f"{e2e.get('p50_ms', 0):,.0f}",
                        f"{e2e.get('p99_ms', 0):,.0f}",
                        f"{cpu.get('worker-children', 0):.0f}",
                        f"{cpu.get('bridge', 0):.0f}",
                        f"{cpu.get('postgres-ours', 0):.0f}",
                        f"{cpu.get('untracked', 0):.0f}",
                        f"{f['cpu_steady_p05_p95'].get('machine_busy_pct_of_all_cores', 0):.0f}",
                        f"{sum(v for k, v in us.items() if k != 'untracked'):.0f}",
                        f"{rss.get('worker-children', {}).get('peak_rss_max_mb', 0):.0f}",
                        f"{rss.get('bridge', {}).get('peak_rss_max_mb', 0):.0f}",
                        f"{rss.get('mosquitto', {}).get('peak_rss_max_mb', 0):.0f}",
                        str(f.get("stored_after_a_higher_seq", "")),
                        "yes" if f["verification"]["exactly_once"] else "NO",
                    ]
                )
                + " |",
            )
        )
    header = (
        "| devices | workers | batch | offered/s | publisher | stored/s steady (5-95 %) "
        "| stored/s first-last | p50 ms | p99 ms | worker children % core | bridge % core "
        "| PG backends % core | other users % core | machine busy % | our CPU µs/reading "
        "| worker child RSS MB | bridge RSS MB | mosquitto RSS MB | out-of-order rows "
        "| exactly once |\n" + "|---" * 20 + "|"
    )
    return header + "\n" + "\n".join(r[-1] for r in sorted(rows, key=lambda r: r[:4]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="2")
    parser.add_argument("--batch-sizes", default="500")
    parser.add_argument("--devices", default="100")
    parser.add_argument("--rates", default="0", help="offered readings/s, 0 = unpaced")
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--publisher", default="raw", choices=["raw", "paho"])
    parser.add_argument("--out", default="/tmp/coldchain-bench-results")
    parser.add_argument("--skip-done", action="store_true")
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help="run a configuration again (keeping the cleanest run) while other processes "
        "on a shared machine use more than --max-interference %% of a core",
    )
    parser.add_argument("--max-interference", type=float, default=15.0)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        grid = itertools.product(
            [int(x) for x in args.devices.split(",")],
            [int(x) for x in args.workers.split(",")],
            [int(x) for x in args.batch_sizes.split(",")],
            [float(x) for x in args.rates.split(",")],
        )
        for devices, workers, batch, rate in grid:
            target = out / f"{label(devices, workers, batch, rate, args.publisher)}.json"
            if args.skip_done and target.exists():
                continue
            best = None
            for attempt in range(1, args.attempts + 1):
                print(f"### {target.stem} attempt {attempt}", flush=True)
                trial = out / f"{target.stem}.try"
                result = subprocess.run(
                    [
                        PYTHON, str(HERE / "ingest_e2e.py"),
                        "--readings", str(args.readings), "--devices", str(devices),
                        "--workers", str(workers), "--batch-size", str(batch),
                        "--rate", str(rate), "--publisher", args.publisher,
                        "--json", str(trial),
                    ],
                    check=False,
                )  # fmt: skip
                if result.returncode not in (0, 2) or not trial.exists():
                    print(f"### {target.stem} failed ({result.returncode})", flush=True)
                    continue
                figures = json.loads(trial.read_text())
                others = interference(figures)
                if best is None or others < best[0]:
                    best = (others, figures)
                trial.unlink()
                if others <= args.max_interference:
                    break
                print(f"### other processes used {others:.0f} % of a core: again", flush=True)
            if best:
                target.write_text(json.dumps(best[1], indent=1))
    print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long a sweep report takes on a big sweep (issue 13: 10,000 runs x 3 records --
``summarize`` under 2 s in-process, the whole report, plots included, under 30 s on
2 cores, ``report.html`` under 5 MB).

No tracking store: the table is synthetic but shaped like the export's (run fields, params
as text, ``metrics.*``, then records with the ``layer`` capture), so it measures the report
and nothing else. Usage::

    python benchmarks/bench_report.py [--runs 10000] [--records 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings


def synthetic_table(n_runs: int, n_records: int, seed: int = 0):
    """An export-shaped table: 5 x 4 x 2 configurations (lr, width, opt) x seeds, one row
    per layer; a few NaN values, failed runs and uneven seeds like a real sweep."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    lrs = ["0.0001", "0.001", "0.01", "0.1", "1.0"]
    widths = ["64", "128", "256", "512"]
    opts = ["adam", "sgd"]
    configs = [(lr, w, o) for lr in lrs for w in widths for o in opts]
    run = np.arange(n_runs)
    cfg = run % len(configs)
    seed_of = run // len(configs)
    lr = np.array([configs[c][0] for c in cfg], dtype=object)
    width = np.array([configs[c][1] for c in cfg], dtype=object)
    opt = np.array([configs[c][2] for c in cfg], dtype=object)
    status = np.where(rng.random(n_runs) < 0.02, "FAILED", "FINISHED").astype(object)
    start = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(run, unit="s")
    base_loss = np.log10(lr.astype(float)) ** 2 / 10 + 1 / np.sqrt(width.astype(float)) + (opt == "sgd") * 0.1
    rows = {
        "run_id": np.repeat([f"{i:032x}" for i in run], n_records),
        "run_name": np.repeat([f"run-{i}" for i in run], n_records),
        "start_time": np.repeat(start, n_records),
        "end_time": np.repeat(start + pd.Timedelta(seconds=30), n_records),
        "status": np.repeat(status, n_records),
        "lr": np.repeat(lr, n_records), "opt": np.repeat(opt, n_records),
        "seed": np.repeat(seed_of.astype(str).astype(object), n_records),
        "width": np.repeat(width, n_records),
        "metrics.train_loss": np.repeat(base_loss + rng.normal(0, 0.05, n_runs), n_records),
        "metrics.val_loss": np.repeat(base_loss + 0.05 + rng.normal(0, 0.05, n_runs), n_records),
        "layer": np.tile(np.arange(n_records), n_runs),
    }
    n = n_runs * n_records
    layer = rows["layer"]
    rows["energy_contrast_ratio"] = 0.5 + 0.05 * layer + rng.normal(0, 0.1, n)
    rows["best_optimal_distance"] = np.where(rng.random(n) < 0.05, np.nan, rng.gamma(2.0, 0.1, n))
    rows["separation_ratio"] = 1 + 0.2 * layer + rng.normal(0, 0.3, n)
    rows["n_clusters"] = rng.integers(2, 9, n)
    rows["noise_fraction"] = rng.beta(2, 8, n)
    df = pd.DataFrame(rows)
    for col in ("run_id", "run_name", "status", "lr", "opt", "seed", "width"):
        df[col] = df[col].astype(object)
    df["layer"] = df["layer"].astype("Int64")
    df["n_clusters"] = df["n_clusters"].astype("Int64")
    return df


def synthetic_histories(run_ids, keys, steps: int = 50) -> dict:
    """The learning curves' histories without a store: ``steps`` points per (run, key)."""
    import numpy as np

    rng = np.random.default_rng(1)
    return {(r, k): [(s, float(0.3 + np.exp(-s / 10) + rng.normal(0, 0.01))) for s in range(steps)]
            for r in run_ids for k in keys}


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from mlflow_sweep_plugin.report.build import ReportOptions, build_report
    from mlflow_sweep_plugin.report.stats import summarize

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    df = synthetic_table(args.runs, args.records)
    t_table = time.perf_counter() - t0
    summarize(df.head(300), captures=["layer"])  # imports (scipy, pandas paths) out of the timing

    sums, reports = [], []
    html_size = n_plots = 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        s = summarize(df, captures=["layer"])
        sums.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            rep = build_report(df, os.path.join(tmp, "rep"),
                               ReportOptions(objective="metrics.val_loss", mode="min"), captures=["layer"],
                               histories=synthetic_histories)
            reports.append(time.perf_counter() - t0)
            html_size = os.path.getsize(rep.html)
            n_plots = len(rep.plots)
    print(f"table: {args.runs} runs x {args.records} records = {len(df)} rows, {len(df.columns)} columns "
          f"(built in {t_table:.2f} s); {len(s.groups)} groups, {len(s.metrics)} metrics, "
          f"over {s.over!r}, by {s.by}")
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    print("| step | best | median | rounds |")
    print("|---|---|---|---|")
    print(f"| summarize | {min(sums):.2f} s | {statistics.median(sums):.2f} s | "
          f"{', '.join(f'{x:.2f}' for x in sums)} |")
    print(f"| whole report ({n_plots} plots with a learning curve, png + svg) | {min(reports):.2f} s | "
          f"{statistics.median(reports):.2f} s | {', '.join(f'{x:.2f}' for x in reports)} |")
    print(f"report.html: {html_size / 1e6:.2f} MB; peak RSS {peak_rss_mib():.0f} MiB")
    ok = min(sums) < 2 and min(reports) < 30 and html_size < 5e6
    print("targets (summarize < 2 s, report < 30 s, html < 5 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

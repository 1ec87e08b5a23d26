"""Benchmark: the naive per-file download loop vs ``mlflow-sweep export``, side by side.

Builds a clustering sweep (default 500 runs x 3 layers of realistic
``layer_<L>/cluster_summary.json`` files) on a local sqlite store and on a loopback
``mlflow server`` (``--serve-artifacts``: artifact URIs are ``mlflow-artifacts:/``),
then times in one process, for each store:

  (a) naive   the research teams' loop: search_runs, then for every run and file
              ``MlflowClient.download_artifacts`` + ``json.load``, then a DataFrame;
  (b) cold    our export with an empty cache;
  (c) warm    our export again (cache filled by (b); one warm export first, then
              the steady state);
  (d) search  ``search_runs`` paging alone (the floor for any export).

and prints the times, the ratios a/b, a/c, c/d and the peak RSS. (c) and (d) are timed
in interleaved rounds (d, d', c, c', d, ...) so both see the same machine; the best of
each is shown, and c/d round by round with its median.

    python benchmarks/bench_export.py                  # 500 runs, local + server
    python benchmarks/bench_export.py --runs 10000 --memory --no-server
                                                       # peak RSS of a 10,000-run export

``--memory`` runs one cold export in a fresh subprocess (the CLI) and reports its peak
RSS, so the figure is the export's own and not the sweep builder's.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_sweep(tracking_uri: str, n_runs: int, n_layers: int, seed: int, threads: int = 1,
                experiment_name: str = "bench-sweep") -> str:
    """Log the sweep through the ordinary MLflow client; returns the experiment id."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow_sweep_clustering.demo import make_cluster_summary

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment_name)
    if exp is not None:
        return exp.experiment_id
    exp_id = client.create_experiment(experiment_name)
    grid = [(s, k, lam) for s in ("relu", "topk", "jumprelu") for k in (3, 4, 6) for lam in (0.01, 0.1)]

    def log_one(i: int) -> None:
        rng = random.Random(seed * 1_000_003 + i)
        sae_type, force_k, force_lambda = grid[i % len(grid)]
        run = client.create_run(exp_id, run_name=f"{sae_type}_k{force_k}_l{force_lambda}_{i}")
        rid = run.info.run_id
        params = {"sae_type": sae_type, "force_k": force_k, "force_lambda": force_lambda,
                  "clustering_method": rng.choice(["spectral", "kmeans"]), "seed": i,
                  "cosine_dedup_threshold": 0.95, "sim_metric": "cosine"}
        now = int(time.time() * 1000)
        client.log_batch(rid, params=[Param(k, str(v)) for k, v in params.items()],
                         metrics=[Metric("final_loss", rng.random(), now, 0),
                                  Metric("n_layers", n_layers, now, 0)])
        refine = rng.random() < 0.7
        with tempfile.TemporaryDirectory() as tmp:
            for layer in range(n_layers):
                d = Path(tmp) / f"layer_{layer}"
                d.mkdir()
                doc = make_cluster_summary(rng, layer, force_k, refine)
                (d / "cluster_summary.json").write_text(json.dumps(doc, indent=2))
            client.log_artifacts(rid, tmp)
        client.set_terminated(rid, "FINISHED")

    t0 = time.perf_counter()
    if threads > 1:
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(log_one, range(n_runs)))
    else:
        for i in range(n_runs):
            log_one(i)
    print(f"  built {n_runs} runs x {n_layers} layers in {time.perf_counter() - t0:.1f} s", flush=True)
    return exp_id


def all_runs(client, exp_id: str) -> list:
    """Every run, paged exactly as the export pages them (so (d) is the export's floor)."""
    from mlflow_sweep_plugin.export.runs import iter_runs

    return list(iter_runs(client, [exp_id]))


def naive_export(tracking_uri: str, exp_id: str, n_layers: int, out: str) -> int:
    """What the research script does: one download_artifacts call per file."""
    import pandas as pd
    from mlflow.tracking import MlflowClient
    from mlflow_sweep_clustering.cluster_summary import parse_cluster_summary
    from mlflow_sweep_plugin.parsers import ParseContext

    client = MlflowClient(tracking_uri)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in all_runs(client, exp_id):
            base = {"run_id": run.info.run_id, "run_name": run.info.run_name,
                    "start_time": pd.to_datetime(run.info.start_time, unit="ms"),
                    "status": run.info.status, **run.data.params,
                    **{f"metrics.{k}": v for k, v in run.data.metrics.items()}}
            for layer in range(n_layers):
                path = f"layer_{layer}/cluster_summary.json"
                try:
                    local = client.download_artifacts(run.info.run_id, path, tmp)
                    with open(local) as fh:
                        data = json.load(fh)
                except Exception:  # noqa: BLE001 - the script skips missing layers
                    continue
                ctx = ParseContext(run_id=run.info.run_id, path=path, captures={"layer": layer})
                for rec in parse_cluster_summary(data, ctx):
                    rows.append({**base, **rec})
    pd.DataFrame(rows).to_csv(out, index=False)
    return len(rows)


def our_export(tracking_uri: str, out: str | None, cache_dir: str, workers: int | None, parsers=()) -> int:
    from mlflow_sweep_plugin.export import export_sweep
    from mlflow_sweep_plugin.process import export_tuning

    with export_tuning():  # what the command does around the library call
        result = export_sweep(experiment_names=["bench-sweep"], tracking_uri=tracking_uri, output=out,
                              cache_dir=cache_dir, workers=workers, parser_names=parsers,
                              write=out is not None)
    if result.warnings:
        raise SystemExit(f"unexpected warnings: {result.warnings[:3]}")
    return result.n_rows


def _frozen(fn):
    """Run ``fn`` with the GC frozen, as the export command does (a fairer floor for (c))."""
    from mlflow_sweep_plugin.process import gc_frozen

    with gc_frozen():
        return fn()


def timed(label: str, fn, repeat: int = 1):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    print(f"  {label:<34} {best:8.3f} s   (peak RSS so far {_rss_mb():6.0f} MiB)", flush=True)
    return best, value


def bench_store(name: str, tracking_uri: str, exp_id: str, args, work: Path) -> dict:
    from mlflow.tracking import MlflowClient

    print(f"\n== {name}: {tracking_uri}", flush=True)
    cache_dir = str(work / f"cache-{name}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    client = MlflowClient(tracking_uri)
    all_runs(client, exp_id)  # warm imports and the server's caches, for everyone alike
    t_a, rows_a = timed("(a) naive download_artifacts loop",
                        lambda: naive_export(tracking_uri, exp_id, args.layers, str(work / f"naive-{name}.csv")))
    t_b, rows_b = timed("(b) mlflow-sweep export, cold",
                        lambda: our_export(tracking_uri, str(work / f"cold-{name}.csv"), cache_dir, args.workers,
                                           args.parsers))
    # (c) and (d) are measured in interleaved rounds, so that both see the same machine:
    # on a shared machine a minute apart can differ by 30 %
    warm_out = str(work / f"warm-{name}.csv")
    steps = {
        "d": lambda: len(all_runs(client, exp_id)),
        "d2": lambda: _frozen(lambda: len(all_runs(client, exp_id))),
        "c": lambda: our_export(tracking_uri, warm_out, cache_dir, args.workers, args.parsers),
        "c2": lambda: our_export(tracking_uri, None, cache_dir, args.workers, args.parsers),
    }
    rows_c = steps["c"]()  # the first warm export renews the stat checks; (c) is the steady state
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeat):
        for key, fn in steps.items():
            t0 = time.perf_counter()
            value = fn()
            times[key].append(time.perf_counter() - t0)
            if key == "d":
                n = value
    labels = {"c": "(c) mlflow-sweep export, warm", "c2": "(c') warm, DataFrame only (no file)",
              "d": "(d) search_runs alone", "d2": "(d') search_runs, GC frozen as in (c)"}
    best = {k: min(v) for k, v in times.items()}
    for key in ("c", "c2", "d", "d2"):
        print(f"  {labels[key]:<34} {best[key]:8.3f} s   (best of {args.repeat} interleaved rounds)", flush=True)
    if not (rows_a == rows_b == rows_c):
        raise SystemExit(f"row counts differ: naive {rows_a}, cold {rows_b}, warm {rows_c}")
    if (work / f"cold-{name}.csv").read_bytes() != (work / f"warm-{name}.csv").read_bytes():
        raise SystemExit("the warm export's file differs from the cold one's")
    per_round = sorted(c / d for c, d in zip(times["c"], times["d"]))
    per_round2 = sorted(c / d for c, d in zip(times["c"], times["d2"]))
    res = {"runs": n, "rows": rows_b, "a": t_a, "b": t_b, "c": best["c"], "d": best["d"], "d2": best["d2"],
           "cd_rounds": per_round, "cd2_rounds": per_round2}
    print(f"  ratios: a/b = {t_a / t_b:5.1f}x   a/c = {t_a / best['c']:6.1f}x   c/d = {best['c'] / best['d']:4.2f}"
          f"   (c/d' = {best['c'] / best['d2']:4.2f})", flush=True)
    print(f"  c/d round by round: {' '.join(f'{r:.2f}' for r in per_round)} (median "
          f"{statistics.median(per_round):.2f}); c/d': {' '.join(f'{r:.2f}' for r in per_round2)} "
          f"(median {statistics.median(per_round2):.2f})", flush=True)
    return res


def memory_check(tracking_uri: str, work: Path, workers: int | None, exp_id: str, parsers=()) -> float:
    """Peak RSS (MiB) of a cold CLI export in a fresh process (then a warm one, and
    search_runs alone, for the times)."""
    from mlflow.tracking import MlflowClient

    cache = work / "cache-memory"
    shutil.rmtree(cache, ignore_errors=True)
    peak = 0.0
    for label in ("cold", "warm", "warm again"):
        peak = max(peak, _cli_export(tracking_uri, work, workers, cache, label, parsers))
    client = MlflowClient(tracking_uri)
    t0 = time.perf_counter()
    n = len(all_runs(client, exp_id))
    print(f"  search_runs alone ({n} runs, in-process): {time.perf_counter() - t0:.1f} s", flush=True)
    return peak


def _cli_export(tracking_uri: str, work: Path, workers: int | None, cache: Path, label: str,
                parsers=()) -> float:
    cmd = [sys.executable, "-c",
           "import resource, sys; from mlflow_sweep_plugin.cli import main\n"
           "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
           "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n",
           "export", "--experiment-name", "bench-sweep", "--tracking-uri", tracking_uri,
           "-o", str(work / "memory.parquet"), "-q"]
    cmd += [a for p in parsers for a in ("--parser", p)]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, MLFLOW_SWEEP_CACHE_DIR=str(cache))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"export failed:\n{proc.stderr[-3000:]}")
    kb = int(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB")))
    print(f"  {label} CLI export (parquet) in a fresh process: {dt:.1f} s (incl. start-up and imports), "
          f"peak RSS {kb / 1024:.0f} MiB", flush=True)
    return kb / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5,
                    help="(c), (c'), (d), (d') are the best of this many runs (default 5)")
    ap.add_argument("--workers", type=int, default=None, help="--workers for our export (default: its own)")
    ap.add_argument("--parser", dest="parsers", action="append", default=None,
                    help="parsers for our export (repeatable; default cluster_summary, what the "
                         "naive loop reads; 'all' for every installed parser)")
    ap.add_argument("--workdir", default=None, help="keep stores here (reused when present)")
    ap.add_argument("--no-server", action="store_true", help="skip the loopback server")
    ap.add_argument("--no-local", action="store_true", help="skip the local sqlite store")
    ap.add_argument("--memory", action="store_true",
                    help="only build the local sweep and measure a cold export's peak RSS")
    args = ap.parse_args(argv)
    args.parsers = [] if args.parsers == ["all"] else (args.parsers or ["cluster_summary"])

    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import mlflow

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (nproc), Python {platform.python_version()}, "
          f"MLflow {mlflow.__version__}; workdir {work}")
    print(f"sweep: {args.runs} runs x {args.layers} layers of cluster_summary.json; "
          f"our parsers: {', '.join(args.parsers) or 'all installed'}")
    results = {}

    local_dir = work / f"local-{args.runs}"
    local_dir.mkdir(exist_ok=True)
    os.chdir(local_dir)  # the default artifact root ./mlruns lands here
    local_uri = f"sqlite:///{local_dir / 'mlflow.db'}"
    if not args.no_local or args.memory:
        print("\nbuilding the local sweep ...", flush=True)
        exp_local = build_sweep(local_uri, args.runs, args.layers, args.seed)
    if args.memory:
        rss = memory_check(local_uri, work, args.workers, exp_local, args.parsers)
        print(f"\npeak RSS {rss:.0f} MiB for {args.runs} runs x {args.layers} artifacts "
              f"({'under' if rss < 1024 else 'OVER'} the 1 GiB target)")
        return 0 if rss < 1024 else 1
    if not args.no_local:
        results["local"] = bench_store("local sqlite", local_uri, exp_local, args, work)

    if not args.no_server:
        from mlflow_sweep_plugin.testing import MlflowServer

        server = MlflowServer(work / f"server-{args.runs}")
        print("\nstarting a loopback mlflow server ...", flush=True)
        server.start()
        try:
            exp_srv = build_sweep(server.url, args.runs, args.layers, args.seed, threads=4)
            results["server"] = bench_store("loopback server", server.url, exp_srv, args, work)
        finally:
            server.stop()

    print("\nsummary (seconds)")
    print(f"  {'store':<16}{'runs':>6}{'naive':>9}{'cold':>8}{'warm':>8}{'search':>8}{'search*':>8}"
          f"{'a/b':>8}{'a/c':>8}{'c/d':>7}{'c/d*':>7}{'c/d med':>9}")
    for name, r in results.items():
        print(f"  {name:<16}{r['runs']:>6}{r['a']:>9.2f}{r['b']:>8.2f}{r['c']:>8.2f}{r['d']:>8.2f}"
              f"{r['d2']:>8.2f}{r['a'] / r['b']:>7.1f}x{r['a'] / r['c']:>7.1f}x{r['c'] / r['d']:>7.2f}"
              f"{r['c'] / r['d2']:>7.2f}{statistics.median(r['cd_rounds']):>9.2f}")
    print("  (search* = search_runs with the GC frozen, as the export runs it; "
          "c/d med = median of the per-round ratios)")
    print(f"  peak RSS of this process: {_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

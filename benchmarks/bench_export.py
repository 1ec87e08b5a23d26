"""Benchmark: the naive per-file download loop, a thread-pool baseline and
``mlflow-sweep export``, side by side, on the stores the research teams use.

Builds a clustering sweep (default 500 runs x 3 layers of realistic
``layer_<L>/cluster_summary.json`` files) on each store of ``--stores``:

  local    a local sqlite store (artifacts on disk);
  server   a loopback ``mlflow server`` on sqlite (``--serve-artifacts``: ``mlflow-artifacts:/``);
  s3       PostgreSQL + S3, the client straight to both (``postgresql+psycopg://``, ``s3://``);
  proxied  ``mlflow server`` on PostgreSQL with ``--artifacts-destination s3://...``;

(PostgreSQL is a throwaway cluster, S3 moto's server, both from ``mlflow_sweep_plugin.
testing``; a store that cannot be started is skipped with the reason), then times in one
process, for each store:

  (a)  naive   the research teams' loop: search_runs, then for every run and file
               ``MlflowClient.download_artifacts`` + ``json.load``, then a DataFrame;
  (a') pool    what a competent user writes: search_runs, then a thread pool (as many
               threads as our --workers) of ``mlflow.artifacts.load_dict(uri)`` per file;
  (b)  cold    our export with an empty cache;
  (c)  warm    our export again (cache filled by (b); one warm export first, then
               the steady state); (c') the same without writing a file;
  (t)  trust   warm with ``--trust-ended-runs`` (no artifact request);
  (d)  search  ``search_runs`` paging alone (the floor for any export); (d') the same
               with the GC frozen, as the export command runs it.

and prints the times, the ratios, the artifact requests of (b), (c) and (t) (counted on
the wire, below urllib3: S3 requests, ``mlflow-artifacts`` requests) and the peak RSS.
(c), (c'), (t), (d), (d') are timed in interleaved rounds so all see the same machine;
the best of each is shown. At the end, the issue's target table, each row met or not.

    python benchmarks/bench_export.py                  # 500 runs, every store
    python benchmarks/bench_export.py --stores s3,proxied
    python benchmarks/bench_export.py --runs 10000 --memory --stores local
    python benchmarks/bench_export.py --runs 10000 --memory --stores s3
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
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_sweep(tracking_uri: str, n_runs: int, n_layers: int, seed: int, threads: int = 1,
                experiment_name: str = "bench-sweep", artifact_location: str | None = None) -> str:
    """Log the sweep through the ordinary MLflow client; returns the experiment id."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow_sweep_clustering.demo import make_cluster_summary

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment_name)
    if exp is not None:
        return exp.experiment_id
    exp_id = client.create_experiment(experiment_name, artifact_location=artifact_location)
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


def threadpool_export(tracking_uri: str, exp_id: str, n_layers: int, out: str, workers: int) -> int:
    """The stronger baseline: search_runs, then ``mlflow.artifacts.load_dict`` per file on a
    thread pool (a missing layer is skipped), then a DataFrame."""
    import mlflow
    import pandas as pd
    from mlflow.tracking import MlflowClient
    from mlflow_sweep_clustering.cluster_summary import parse_cluster_summary
    from mlflow_sweep_plugin.parsers import ParseContext

    client = MlflowClient(tracking_uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)  # mlflow-artifacts:/ URIs are resolved through it
    try:
        runs = all_runs(client, exp_id)
        jobs = [(run, layer) for run in runs for layer in range(n_layers)]

        def load(job):
            run, layer = job
            try:
                return mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/layer_{layer}/cluster_summary.json")
            except Exception:  # noqa: BLE001 - the script skips missing layers
                return None

        with cf.ThreadPoolExecutor(workers) as pool:
            docs = list(pool.map(load, jobs))
    finally:
        mlflow.set_tracking_uri(previous)
    rows = []
    for (run, layer), data in zip(jobs, docs):
        if data is None:
            continue
        base = {"run_id": run.info.run_id, "run_name": run.info.run_name,
                "start_time": pd.to_datetime(run.info.start_time, unit="ms"),
                "status": run.info.status, **run.data.params,
                **{f"metrics.{k}": v for k, v in run.data.metrics.items()}}
        path = f"layer_{layer}/cluster_summary.json"
        ctx = ParseContext(run_id=run.info.run_id, path=path, captures={"layer": layer})
        for rec in parse_cluster_summary(data, ctx):
            rows.append({**base, **rec})
    pd.DataFrame(rows).to_csv(out, index=False)
    return len(rows)


class RequestCounter:
    """Every HTTP request this process sends (boto3 and requests both go through urllib3),
    counted by kind: ``s3`` (to the S3 endpoint), ``artifacts`` (an mlflow server's artifact
    API), ``other`` (tracking calls)."""

    def __init__(self, s3_port: int | None = None):
        self.s3_port = s3_port
        self.counts: dict[str, int] = {"s3": 0, "artifacts": 0, "other": 0}
        self._lock = threading.Lock()
        self._original = None

    def __enter__(self):
        import urllib3.connectionpool as pools

        self._original = original = pools.HTTPConnectionPool.urlopen
        counter = self

        def urlopen(pool, method, url, *args, **kwargs):
            if counter.s3_port is not None and pool.port == counter.s3_port:
                kind = "s3"
            elif "/mlflow-artifacts/" in url or "/artifacts/" in url:
                kind = "artifacts"
            else:
                kind = "other"
            with counter._lock:
                counter.counts[kind] += 1
            return original(pool, method, url, *args, **kwargs)

        pools.HTTPConnectionPool.urlopen = urlopen
        return self

    def __exit__(self, *exc):
        import urllib3.connectionpool as pools

        pools.HTTPConnectionPool.urlopen = self._original

    @property
    def artifact_requests(self) -> int:
        return self.counts["s3"] + self.counts["artifacts"]


def our_export(tracking_uri: str, out: str | None, cache_dir: str, workers: int | None, parsers=(),
               **options) -> int:
    from mlflow_sweep_plugin.export import export_sweep
    from mlflow_sweep_plugin.process import export_tuning

    with export_tuning():  # what the command does around the library call
        result = export_sweep(experiment_names=["bench-sweep"], tracking_uri=tracking_uri, output=out,
                              cache_dir=cache_dir, workers=workers, parser_names=parsers,
                              write=out is not None, **options)
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


def bench_store(name: str, tracking_uri: str, exp_id: str, args, work: Path, s3_port: int | None = None) -> dict:
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_plugin.export.session import DEFAULT_WORKERS

    print(f"\n== {name}: {tracking_uri}", flush=True)
    cache_dir = str(work / f"cache-{name}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    client = MlflowClient(tracking_uri)
    all_runs(client, exp_id)  # warm imports and the server's caches, for everyone alike
    t_a, rows_a = timed("(a) naive download_artifacts loop",
                        lambda: naive_export(tracking_uri, exp_id, args.layers, str(work / f"naive-{name}.csv")))
    pool_size = args.workers or DEFAULT_WORKERS
    t_p, rows_p = timed(f"(a') {pool_size} threads of load_dict",
                        lambda: threadpool_export(tracking_uri, exp_id, args.layers, str(work / f"pool-{name}.csv"),
                                                  pool_size))
    with RequestCounter(s3_port) as cold_req:
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
        "t": lambda: our_export(tracking_uri, str(work / f"trust-{name}.csv"), cache_dir, args.workers,
                                args.parsers, trust_ended_runs=True),
    }
    rows_c = steps["c"]()  # the first warm export renews the cache's checks; (c) is the steady state
    with RequestCounter(s3_port) as warm_req:
        steps["c"]()
    with RequestCounter(s3_port) as trust_req:
        steps["t"]()
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeat):
        for key, fn in steps.items():
            t0 = time.perf_counter()
            value = fn()
            times[key].append(time.perf_counter() - t0)
            if key == "d":
                n = value
    labels = {"c": "(c) mlflow-sweep export, warm", "c2": "(c') warm, DataFrame only (no file)",
              "t": "(t) warm, --trust-ended-runs",
              "d": "(d) search_runs alone", "d2": "(d') search_runs, GC frozen as in (c)"}
    best = {k: min(v) for k, v in times.items()}
    for key in ("c", "c2", "t", "d", "d2"):
        print(f"  {labels[key]:<34} {best[key]:8.3f} s   (best of {args.repeat} interleaved rounds)", flush=True)
    if not (rows_a == rows_p == rows_b == rows_c):
        raise SystemExit(f"row counts differ: naive {rows_a}, pool {rows_p}, cold {rows_b}, warm {rows_c}")
    cold_bytes = (work / f"cold-{name}.csv").read_bytes()
    if cold_bytes != (work / f"warm-{name}.csv").read_bytes() or cold_bytes != (work / f"trust-{name}.csv").read_bytes():
        raise SystemExit("a warm export's file differs from the cold one's")
    per_round = sorted(c / d for c, d in zip(times["c"], times["d"]))
    per_round2 = sorted(c / d for c, d in zip(times["c"], times["d2"]))
    res = {"runs": n, "rows": rows_b, "a": t_a, "p": t_p, "b": t_b, "c": best["c"], "t": best["t"],
           "d": best["d"], "d2": best["d2"], "cd_rounds": per_round, "cd2_rounds": per_round2,
           "req_b": cold_req.artifact_requests, "req_c": warm_req.artifact_requests,
           "req_t": trust_req.artifact_requests}
    print(f"  ratios: a/b = {t_a / t_b:5.1f}x   a'/b = {t_p / t_b:5.1f}x   a/c = {t_a / best['c']:6.1f}x   "
          f"c/d = {best['c'] / best['d']:4.2f} (c/d' = {best['c'] / best['d2']:4.2f})   "
          f"t/d = {best['t'] / best['d']:4.2f}", flush=True)
    print(f"  c/d round by round: {' '.join(f'{r:.2f}' for r in per_round)} (median "
          f"{statistics.median(per_round):.2f}); c/d': {' '.join(f'{r:.2f}' for r in per_round2)} "
          f"(median {statistics.median(per_round2):.2f})", flush=True)
    print(f"  artifact requests: cold {res['req_b']}, warm {res['req_c']} ({res['req_c'] / max(n, 1):.2f} per run), "
          f"--trust-ended-runs {res['req_t']}", flush=True)
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


STORES = ("local", "server", "s3", "proxied")


class ProductionStores:
    """A throwaway PostgreSQL cluster and moto's S3 server, started on first use (the
    harness's classes); ``os.environ`` gets the S3 endpoint and dummy credentials."""

    def __init__(self):
        self.cluster = self.s3 = None
        self.error: str | None = None

    def start(self) -> bool:
        from mlflow_sweep_plugin.testing import MotoS3Server, PostgresCluster, StoreUnavailable

        if self.cluster is not None or self.error:
            return self.error is None
        try:
            print("\nstarting a throwaway PostgreSQL cluster and moto's S3 server ...", flush=True)
            self.cluster = PostgresCluster().start()
            self.s3 = MotoS3Server().start()
        except StoreUnavailable as exc:
            self.error = str(exc)
            print(f"  skipped: {exc}", flush=True)
            self.stop()
            return False
        for key, value in self.s3.env().items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return True

    def direct_sweep(self, args) -> tuple[str, str]:
        """(tracking URI, experiment id) of a new sweep written by the client straight to a
        fresh PostgreSQL database and a fresh bucket (deployment a)."""
        bucket = self.s3.create_bucket()
        uri = self.cluster.mlflow_database(f"s3://{bucket}/artifacts/0")
        exp = build_sweep(uri, args.runs, args.layers, args.seed, threads=4,
                          artifact_location=f"s3://{bucket}/artifacts/bench")
        return uri, exp

    def stop(self) -> None:
        if self.s3 is not None:
            self.s3.stop()
        if self.cluster is not None:
            self.cluster.stop()


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_targets(results: dict, memory: dict) -> None:
    """The issue's targets, each row measured in this run (or said not to be)."""
    rows = []
    s3 = results.get("s3")
    if s3:
        ab, pb = s3["a"] / s3["b"], s3["p"] / s3["b"]
        rows.append(("S3 direct, cold", f"a/b {ab:.1f}x, a'/b {pb:.1f}x", ">= 10x naive, >= 3x pool",
                     _met(ab >= 10 and pb >= 3)))
        cd = s3["c"] / s3["d"]
        rows.append(("S3 direct, warm (sound)", f"c/d {cd:.2f} (c/d' {s3['c'] / s3['d2']:.2f}), "
                     f"{s3['req_c']} artifact requests", "<= 3x search_runs, <= 5 requests",
                     _met(cd <= 3 and s3["req_c"] <= 5)))
    else:
        rows += [("S3 direct, cold", "not measured (--stores s3)", ">= 10x naive, >= 3x pool", "-"),
                 ("S3 direct, warm (sound)", "not measured (--stores s3)", "<= 3x search_runs, <= 5 requests", "-")]
    px = results.get("proxied")
    if px:
        td = px["t"] / px["d"]
        rows.append(("proxied server, warm, --trust-ended-runs", f"t/d {td:.2f} (t/d' {px['t'] / px['d2']:.2f}), "
                     f"{px['req_t']} artifact requests", "<= 2x search_runs, 0 requests",
                     _met(td <= 2 and px["req_t"] == 0)))
        per_run = px["req_c"] / max(px["runs"], 1)
        rows.append(("proxied server, warm (sound)", f"{px['req_c']} artifact requests, {per_run:.2f} per run",
                     "<= 1 request per run", _met(per_run <= 1)))
    else:
        rows += [("proxied server, warm, --trust-ended-runs", "not measured (--stores proxied)",
                  "<= 2x search_runs, 0 requests", "-"),
                 ("proxied server, warm (sound)", "not measured (--stores proxied)", "<= 1 request per run", "-")]
    if "s3" in memory:
        n, rss = memory["s3"]
        rows.append((f"{n:,} runs on PostgreSQL + S3, cold", f"peak RSS {rss:.0f} MiB", "< 1 GiB", _met(rss < 1024)))
    else:
        rows.append(("10,000 runs on PostgreSQL + S3, cold", "not measured (--runs 10000 --memory --stores s3)",
                     "< 1 GiB", "-"))
    print("\ntargets (ratios within this run)")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(r, widths)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5,
                    help="(c), (c'), (t), (d), (d') are the best of this many runs (default 5)")
    ap.add_argument("--workers", type=int, default=None, help="--workers for our export (default: its own)")
    ap.add_argument("--parser", dest="parsers", action="append", default=None,
                    help="parsers for our export (repeatable; default cluster_summary, what the "
                         "naive loop reads; 'all' for every installed parser)")
    ap.add_argument("--workdir", default=None, help="keep stores here (reused when present)")
    ap.add_argument("--stores", default=",".join(STORES),
                    help=f"comma list of {', '.join(STORES)} (default: all)")
    ap.add_argument("--no-server", action="store_true", help="skip the loopback server (as --stores without it)")
    ap.add_argument("--no-local", action="store_true", help="skip the local sqlite store")
    ap.add_argument("--memory", action="store_true",
                    help="only build the sweep (local, or s3 with --stores s3) and measure a cold export's peak RSS")
    args = ap.parse_args(argv)
    args.parsers = [] if args.parsers == ["all"] else (args.parsers or ["cluster_summary"])
    stores = [x.strip() for x in args.stores.split(",") if x.strip()]
    unknown = set(stores) - set(STORES)
    if unknown:
        ap.error(f"unknown store(s) {', '.join(sorted(unknown))}; known: {', '.join(STORES)}")
    if args.no_server:
        stores = [x for x in stores if x != "server"]
    if args.no_local:
        stores = [x for x in stores if x != "local"]

    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # load_dict's bars, per file
    import mlflow

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (nproc), Python {platform.python_version()}, "
          f"MLflow {mlflow.__version__}; workdir {work}")
    print(f"sweep: {args.runs} runs x {args.layers} layers of cluster_summary.json; "
          f"our parsers: {', '.join(args.parsers) or 'all installed'}; stores: {', '.join(stores)}")
    results: dict = {}
    memory: dict = {}
    production = ProductionStores()

    local_dir = work / f"local-{args.runs}"
    local_dir.mkdir(exist_ok=True)
    os.chdir(local_dir)  # the default artifact root ./mlruns lands here
    local_uri = f"sqlite:///{local_dir / 'mlflow.db'}"
    try:
        if args.memory:
            if "s3" in stores and production.start():
                print("\nbuilding the sweep on PostgreSQL + S3 ...", flush=True)
                uri, exp = production.direct_sweep(args)
                where = "PostgreSQL + S3"
            else:
                print("\nbuilding the local sweep ...", flush=True)
                uri, exp, where = local_uri, build_sweep(local_uri, args.runs, args.layers, args.seed), "local sqlite"
            rss = memory_check(uri, work, args.workers, exp, args.parsers)
            memory["s3" if where != "local sqlite" else "local"] = (args.runs, rss)
            print(f"\npeak RSS {rss:.0f} MiB for {args.runs} runs x {args.layers} artifacts on {where} "
                  f"({'under' if rss < 1024 else 'OVER'} the 1 GiB target)")
            if "s3" in memory:
                print_targets({}, memory)
            return 0 if rss < 1024 else 1

        if "local" in stores:
            print("\nbuilding the local sweep ...", flush=True)
            exp_local = build_sweep(local_uri, args.runs, args.layers, args.seed)
            results["local"] = bench_store("local sqlite", local_uri, exp_local, args, work)

        if "server" in stores:
            from mlflow_sweep_plugin.testing import MlflowServer

            server = MlflowServer(work / f"server-{args.runs}")
            print("\nstarting a loopback mlflow server ...", flush=True)
            server.start()
            try:
                exp_srv = build_sweep(server.url, args.runs, args.layers, args.seed, threads=4)
                results["server"] = bench_store("loopback server", server.url, exp_srv, args, work)
            finally:
                server.stop()

        if "s3" in stores and production.start():
            print("\nbuilding the sweep on PostgreSQL + S3 (direct) ...", flush=True)
            uri, exp = production.direct_sweep(args)
            results["s3"] = bench_store("PostgreSQL + S3, direct", uri, exp, args, work, s3_port=production.s3.port)

        if "proxied" in stores and production.start():
            from mlflow_sweep_plugin.testing import MlflowServer

            bucket = production.s3.create_bucket()
            server = MlflowServer(work / f"proxied-{args.runs}", backend_uri=production.cluster.mlflow_database(),
                                  artifacts_destination=f"s3://{bucket}/artifacts", env=production.s3.env())
            print("\nstarting mlflow server on PostgreSQL + S3 (proxied artifacts) ...", flush=True)
            server.start()
            try:
                exp = build_sweep(server.url, args.runs, args.layers, args.seed, threads=4)
                results["proxied"] = bench_store("proxied server (PostgreSQL + S3)", server.url, exp, args, work,
                                                 s3_port=production.s3.port)
            finally:
                server.stop()
    finally:
        production.stop()

    print("\nsummary (seconds)")
    pool_ratio = "a'/b"
    print(f"  {'store':<10}{'runs':>6}{'naive':>8}{'pool':>8}{'cold':>8}{'warm':>8}{'trust':>8}{'search':>8}"
          f"{'search*':>8}{'a/b':>7}{pool_ratio:>7}{'a/c':>8}{'c/d':>6}{'c/d*':>6}{'t/d':>6}{'req b/c/t':>14}")
    for name, r in results.items():
        reqs = f"{r['req_b']}/{r['req_c']}/{r['req_t']}"
        print(f"  {name:<10}{r['runs']:>6}{r['a']:>8.2f}{r['p']:>8.2f}{r['b']:>8.2f}{r['c']:>8.2f}{r['t']:>8.2f}"
              f"{r['d']:>8.2f}{r['d2']:>8.2f}{r['a'] / r['b']:>6.1f}x{r['p'] / r['b']:>6.1f}x{r['a'] / r['c']:>7.1f}x"
              f"{r['c'] / r['d']:>6.2f}{r['c'] / r['d2']:>6.2f}{r['t'] / r['d']:>6.2f}{reqs:>14}")
    print("  (pool = search_runs + a thread pool of mlflow.artifacts.load_dict; trust = warm with "
          "--trust-ended-runs; search* = search_runs with the GC frozen, as the export runs it; "
          "req b/c/t = artifact requests of the cold, warm and trusted exports)")
    print(f"  peak RSS of this process: {_rss_mb():.0f} MiB")
    print_targets(results, memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())

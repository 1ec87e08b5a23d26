"""Benchmark: many jobs of one sweep logging at the same time.

Three measurements, each with real processes (what a joblib/submitit launcher or a
``max_parallel`` sweep does):

  server   ``--jobs`` processes (default 16) each log one child run of one sweep (a
           parent made first) into one loopback ``mlflow server`` (sqlite backend,
           ``mlflow_sweep_plugin.testing.MlflowServer``) through ``sweep_run``,
           ``log_config``, ``log_metrics``, ``log_artifacts_selectively`` at once;
           then every run, param, metric point and artifact is counted against what was
           sent. Prints the time, the throughput and what was lost (must be 0).
  sqlite   ``--writers`` processes (default 8) log the same way straight into one
           ``sqlite:///`` file: first MLflow's own client with no retry (how many of its
           calls fail with "database is locked"), then our logging API (which retries
           that error, ``tracking/sink.retry_locked``): how many calls it retried, and
           what was lost (must be 0). ``--hold S`` also holds an exclusive lock on the
           file for S seconds while they write (a backup, a ``sqlite3`` shell, a slow NFS
           server): past MLflow's 20 s busy timeout, every writer sees the error.
  export   two ``mlflow-sweep export`` of the same experiment at once, sharing one
           cache directory: both must complete with the same table as an export
           without the cache, and the cache file pass ``PRAGMA integrity_check``.

    python benchmarks/bench_concurrency.py [--jobs 16] [--writers 8] [--hold 0] [server sqlite export]

tests/tracking/test_concurrent_logging.py runs the same functions with fewer processes.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time

#: one job of the sweep: one child run, through the logging API (or MLflow's client)
WRITER = textwrap.dedent('''
    import json, os, sys, time
    spec = json.loads(sys.argv[1])
    barrier, i, n = spec["barrier"], spec["index"], spec["n"]
    import mlflow
    from mlflow.tracking import MlflowClient
    from mlflow_sweep_plugin import log_artifacts_selectively, log_config, log_metrics, sweep_run
    from mlflow_sweep_plugin.tracking import sink

    out = os.path.join(barrier, f"files.{i}")
    os.makedirs(out, exist_ok=True)
    for a in range(spec["artifacts"]):
        with open(os.path.join(out, f"result_{a}.json"), "w") as fh:
            json.dump({"job": i, "artifact": a}, fh)
    config = {"job": i, "group": {f"p{k}": k * i for k in range(spec["params"])}}
    tags = {"mlflow.parentRunId": spec["parent"], "mlflow_sweep.sweep_id": spec["sweep_id"],
            "mlflow_sweep.role": "child", "mlflow_sweep.index": str(i)}
    if spec["how"] == "client":  # its store opened before the others start (MLflow opens it in 5 s or fails)
        client = MlflowClient(spec["uri"])
    open(os.path.join(barrier, f"ready.{i}"), "w").close()  # imported: start together
    while sum(os.path.exists(os.path.join(barrier, f"ready.{k}")) for k in range(n)) < n:
        time.sleep(0.001)
    failures = {"locked": 0, "other": 0}
    started = time.time()
    if spec["how"] == "api":
        with sweep_run(run_name=f"job-{i}", tracking_uri=spec["uri"], experiment_id=spec["experiment_id"],
                       tags=tags) as run:
            log_config(config)
            for step in range(spec["steps"]):
                log_metrics({f"m{k}": step + k / 10 for k in range(spec["metrics"])}, step=step)
                time.sleep(spec["pause"])
            log_artifacts_selectively(out, "results")
        run_id, spooled = run.run_id, run.spooled
    else:  # MLflow's own client, no retry: count what fails
        from mlflow.entities import Metric, Param

        def call(f, *a, **k):
            try:
                return f(*a, **k)
            except Exception as exc:
                failures["locked" if "database is locked" in str(exc) else "other"] += 1

        run = call(client.create_run, spec["experiment_id"], tags=tags, run_name=f"job-{i}")
        run_id, spooled = (run.info.run_id if run else None), False
        if run:
            call(client.log_batch, run_id, params=[Param(f"group.p{k}", str(k * i))
                                                   for k in range(spec["params"])])
            for step in range(spec["steps"]):
                call(client.log_batch, run_id, metrics=[Metric(f"m{k}", step + k / 10, 0, step)
                                                        for k in range(spec["metrics"])])
                time.sleep(spec["pause"])
            call(client.log_artifacts, run_id, out, "results")
            call(client.set_terminated, run_id)
    print(json.dumps({"run_id": run_id, "spooled": spooled, "seconds": time.time() - started,
                      "retries": sink.LOCK_RETRIES["count"], **failures}), flush=True)
''')


def run_writers(uri: str, experiment_id: str, parent: str, sweep_id: str, n: int, work: pathlib.Path,
                *, how="api", params: int = 20, metrics: int = 5, steps: int = 20,
                artifacts: int = 2, pause: float = 0.0, env: dict | None = None, during=None) -> list[dict]:
    """Start ``n`` writer processes at once (a barrier after their imports), wait for
    them, return what each printed. ``how``: ``"api"`` (our logging API) or ``"client"``
    (MLflow's client, no retry; its children get the parent ``raw-<parent>``), or a list,
    one per writer. ``pause``: seconds between metric steps. ``during(procs, barrier)``
    runs while they write."""
    work.mkdir(parents=True, exist_ok=True)
    script = work / "writer.py"
    script.write_text(WRITER)
    hows = list(how) if isinstance(how, (list, tuple)) else [how] * n
    barrier = work / "barrier"
    barrier.mkdir(exist_ok=True)
    environ = dict(os.environ if env is None else env)
    environ.setdefault("MLFLOW_SWEEP_SPOOL_DIR", str(work / "spool"))
    procs = []
    for i in range(n):
        spec = {"uri": uri, "experiment_id": experiment_id, "sweep_id": sweep_id,
                "parent": parent if hows[i] == "api" else f"raw-{parent}",
                "index": i, "n": n, "barrier": str(barrier), "how": hows[i], "params": params,
                "metrics": metrics, "steps": steps, "artifacts": artifacts, "pause": pause}
        procs.append(subprocess.Popen([sys.executable, str(script), json.dumps(spec)], cwd=work,
                                      env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    if during is not None:
        during(procs, barrier)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"a writer failed ({p.returncode}):\n{err[:1500]}\n...\n{err[-1500:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def lost(client, experiment_id: str, parent: str, n: int, *, params: int = 20, metrics: int = 5,
         steps: int = 20, artifacts: int = 2) -> dict:
    """What the store is missing of ``n`` writers' children (0 everywhere: nothing lost)."""
    from mlflow_sweep_plugin.testing import artifact_paths

    runs = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'", max_results=1000)
    missing = {"runs": n - len(runs), "params": 0, "metric_points": 0, "artifacts": 0, "not_finished": 0}
    for run in runs:
        i = int(run.data.tags["mlflow_sweep.index"])
        want = {f"group.p{k}": str(k * i) for k in range(params)}
        missing["params"] += sum(1 for k, v in want.items() if run.data.params.get(k) != v)
        for k in range(metrics):
            points = {(m.step, m.value) for m in client.get_metric_history(run.info.run_id, f"m{k}")}
            missing["metric_points"] += sum(1 for s in range(steps) if (s, s + k / 10) not in points)
        have = set(artifact_paths(client, run.info.run_id))
        missing["artifacts"] += sum(1 for a in range(artifacts) if f"results/result_{a}.json" not in have)
        missing["not_finished"] += run.info.status != "FINISHED"
    missing["runs"] = max(missing["runs"], 0)
    return missing


def make_parent(client, experiment: str, artifact_location: str | None = None) -> tuple[str, str, str]:
    """The sweep's experiment and parent run: ``(experiment id, parent run id, sweep id)``."""
    import uuid

    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment, artifact_location)
    sweep_id = uuid.uuid4().hex
    parent = client.create_run(exp_id, tags={"mlflow_sweep.role": "parent", "mlflow_sweep.sweep_id": sweep_id},
                               run_name=experiment)
    return exp_id, parent.info.run_id, sweep_id


def hold_lock(db_path: str, seconds: float):
    """A ``during`` for :func:`run_writers`: once every writer is past its imports, hold
    an exclusive lock on the sqlite file for ``seconds``."""

    def during(procs, barrier):
        while len(list(pathlib.Path(barrier).glob("ready.*"))) < len(procs):
            time.sleep(0.01)
        time.sleep(0.5)  # they are writing now
        con = sqlite3.connect(db_path, timeout=60, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()

    return during


# -- the measurements -------------------------------------------------------------------
def bench_server(n: int, root: pathlib.Path) -> dict:
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_plugin.testing import MlflowServer

    server = MlflowServer(root / "server").start()
    try:
        client = MlflowClient(server.url)
        exp_id, parent, sweep_id = make_parent(client, "concurrent")
        started = time.monotonic()
        results = run_writers(server.url, exp_id, parent, sweep_id, n, root / "work-server")
        took = time.monotonic() - started
        missing = lost(client, exp_id, parent, n)
    finally:
        server.stop()
    return {"jobs": n, "seconds": round(took, 1), "lost": missing,
            "spooled": sum(r["spooled"] for r in results),
            "slowest_job_s": round(max(r["seconds"] for r in results), 1)}


def bench_sqlite(n: int, root: pathlib.Path, hold: float = 0.0) -> dict:
    from mlflow.tracking import MlflowClient

    db = root / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri)
    out = {"writers": n, "hold_s": hold}
    for how in ("client", "api"):
        exp_id, parent, sweep_id = make_parent(client, f"sqlite-{how}", (root / "artifacts" / how).as_uri())
        started = time.monotonic()
        results = run_writers(uri, exp_id, parent, sweep_id, n, root / f"work-{how}", how=how,
                              during=hold_lock(str(db), hold) if hold else None)
        calls = n * (2 + 20 + 2)  # create, params, 20 metric batches, artifacts, end
        out[how] = {"seconds": round(time.monotonic() - started, 1),
                    "locked_errors": sum(r["locked"] for r in results),
                    "other_errors": sum(r["other"] for r in results),
                    "calls": calls, "retried": sum(r["retries"] for r in results),
                    "spooled": sum(r["spooled"] for r in results)}
        if how == "api":
            out[how]["lost"] = lost(client, exp_id, parent, n)
    return out


def bench_export(root: pathlib.Path, n_runs: int = 40) -> dict:
    import pandas as pd

    from mlflow_sweep_plugin.testing import log_sweep

    uri = f"sqlite:///{root / 'export.db'}"
    doc = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}
    log_sweep(None, [{"run_name": f"r{i}", "params": {"i": i},
                      "artifacts": {f"layer_{k}/cluster_summary.json": dict(doc, layer=k, energy_contrast_ratio=i + k / 10)
                                    for k in range(3)}} for i in range(n_runs)],
              experiment_name="exported", tracking_uri=uri)
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, MLFLOW_SWEEP_CACHE_DIR=str(root / "cache"))

    def export(name, *extra):
        return subprocess.Popen([sys.executable, "-m", "mlflow_sweep_plugin", "export", "--experiment-name",
                                 "exported", "-o", str(root / name), *extra], env=env, cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    started = time.monotonic()
    both = [export("a.csv"), export("b.csv")]  # at once, one cache directory
    ref = export("reference.csv", "--no-cache")  # meanwhile, without the cache
    outs = [p.communicate(timeout=600) for p in both]
    took = time.monotonic() - started
    ref.communicate(timeout=600)
    warm = export("warm.csv")
    _, warm_err = warm.communicate(timeout=600)

    def table(name):
        df = pd.read_csv(root / name)
        return df.sort_values(list(df.columns)).reset_index(drop=True)

    reference = table("reference.csv")
    from mlflow_sweep_plugin.export.cache_store import FILENAME

    with sqlite3.connect(root / "cache" / FILENAME) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    return {"runs": n_runs, "seconds_both": round(took, 1),
            "exit_codes": [p.returncode for p in both] + [warm.returncode],
            "tables_equal": [table(n).equals(reference) for n in ("a.csv", "b.csv", "warm.csv")],
            "warm": next((line for line in warm_err.splitlines() if "exported" in line), ""),
            "cache_integrity": integrity,
            "both": [next((line for line in err.splitlines() if "exported" in line), err[-500:]) for _, err in outs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="*", default=["server", "sqlite", "export"])
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--hold", type=float, default=0.0)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cpu(s), "
          f"mlflow {__import__('mlflow').__version__}")
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        root = pathlib.Path(tmp)
        for what in args.what:
            (root / what).mkdir()
            if what == "server":
                result = bench_server(args.jobs, root / what)
            elif what == "sqlite":
                result = bench_sqlite(args.writers, root / what, args.hold)
            else:
                result = bench_export(root / what)
            print(what, json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

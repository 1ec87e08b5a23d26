"""End to end on production stores: PostgreSQL + S3, as the research teams run them.

Two deployments (``mlflow_sweep_plugin.testing.sweep_store_factory``):

- ``direct``: the client writes straight to a ``postgresql+psycopg://`` tracking URI, each
  experiment's artifacts under ``s3://<bucket>/artifacts/...`` (moto's S3 server);
- ``proxied``: ``mlflow server`` on PostgreSQL with ``--artifacts-destination s3://...``
  (``mlflow-artifacts:/`` URIs; the client has no S3 credentials at all).

Every command gives on them what it gives on a sqlite store with local artifacts: the
same export table, byte for byte in CSV, for every column that does not depend on the
store (``run_id``, ``start_time``, ``end_time`` are left out of the comparison), cold,
warm and with ``--refresh``; the same metrics from ``flatten``; the same report files;
the same runs from ``mlflow run --backend sweep``, the Hydra callback and ``import-hydra``;
a job's spool replayed by ``sync`` after its store went away mid-run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pathlib
import subprocess
import sys
import time

import pytest

from mlflow_sweep_plugin.testing import artifact_paths, log_sweep
from sweep_test_helpers import cli, summary_for

pytestmark = pytest.mark.stores

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VOLATILE = ("run_id", "start_time", "end_time")
DEPLOYMENTS = {
    "direct": {"backend": "postgresql", "artifacts": "s3"},
    "proxied": {"backend": "postgresql", "artifacts": "s3", "server": True},
}


@pytest.fixture(params=list(DEPLOYMENTS))
def store(request, sweep_store_factory):
    """The deployment under test, current for the test (``MLFLOW_TRACKING_URI``...)."""
    return sweep_store_factory(**DEPLOYMENTS[request.param], current=True)


@pytest.fixture
def reference(sweep_store_factory):
    """A sqlite store with local artifacts: what every deployment must agree with."""
    return sweep_store_factory()


def stable_cells(path, drop=VOLATILE) -> list[list[str]]:
    """A CSV file's cells as written, without the store-dependent columns."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    keep = [i for i, name in enumerate(rows[0]) if name not in drop]
    return [[row[i] for i in keep] for row in rows]


def example_summary() -> dict:
    return json.loads((DATA / "clustering_run" / "layer_0" / "cluster_summary.json").read_text())


def clustering_spec() -> list[dict]:
    """A clustering sweep with every case: all layers, a gap, a NaN fit, a failed run, a
    malformed file, files no parser reads, params that must round-trip as logged."""
    base = example_summary()
    nan_fit = summary_for(base, 0)
    nan_fit["geometry_fits"]["0"]["distances"]["circle"] = float("nan")
    runs = [
        {"run_name": "all", "params": {"sae_type": "relu", "force_k": 3, "lr": "-0.5"},
         "metrics": {"loss": 0.25},
         "artifacts": {f"layer_{i}/cluster_summary.json": summary_for(base, i) for i in range(3)}},
        {"run_name": "nan_and_gap", "params": {"sae_type": "topk", "force_k": 4, "lr": "1e-3"},
         "artifacts": {"layer_0/cluster_summary.json": nan_fit,
                       "layer_2/cluster_summary.json": summary_for(base, 2),
                       "checkpoints/model.bin": b"\x00" * 64, "notes/readme.txt": "hello"}},
        {"run_name": "crashed", "params": {"sae_type": "relu", "force_k": 6, "lr": "=x"}, "status": "FAILED"},
        {"run_name": "bad", "params": {"sae_type": "topk", "force_k": 3, "lr": "0.1"},
         "artifacts": {"layer_0/cluster_summary.json": summary_for(base, 0),
                       "layer_1/cluster_summary.json": '{"layer": 1, "energy_con'}},
    ]
    for i in range(4):
        runs.append({"run_name": f"extra_{i}", "params": {"sae_type": "relu", "force_k": 3 + i, "lr": "0.1"},
                     "metrics": {"loss": 0.1 * i},
                     "artifacts": {"layer_0/cluster_summary.json": summary_for(base, 0),
                                   "layer_1/cluster_summary.json": summary_for(base, 1)}})
    return runs


def export_cli(store, name, out, *more):
    code, _, err = cli("export", "--experiment-name", name, "--tracking-uri", store.tracking_uri,
                       "-o", out, "-q", *more)
    assert code == 0, err
    return err


# --- the export ----------------------------------------------------------------------------
def test_export_cold_warm_refresh_same_table_as_sqlite(store, reference, tmp_path):
    from mlflow_sweep_plugin.export import export_sweep
    from mlflow_sweep_plugin.plugins import SweepPluginManager

    spec = clustering_spec()
    mine = log_sweep(store, spec, "prod")
    log_sweep(reference, spec, "prod")
    run = store.client.get_run(mine.run_ids[0])
    want_scheme = "mlflow-artifacts:/" if store.server else f"s3://{store.bucket.name}/"
    assert run.info.artifact_uri.startswith(want_scheme)

    ref_csv = tmp_path / "sqlite.csv"
    export_cli(reference, "prod", ref_csv)
    cold, warm, refresh = (tmp_path / f"{n}.csv" for n in ("cold", "warm", "refresh"))
    export_cli(store, "prod", cold)
    export_cli(store, "prod", warm)
    export_cli(store, "prod", refresh, "--refresh")
    trusted = tmp_path / "trusted.csv"
    export_cli(store, "prod", trusted, "--trust-ended-runs")
    assert stable_cells(cold) == stable_cells(ref_csv)
    assert cold.read_bytes() == warm.read_bytes() == refresh.read_bytes() == trusted.read_bytes()
    header = stable_cells(cold)[0]
    assert "layer" in header and "cluster_0_best_optimal_distance" in header

    def library(**options):
        return export_sweep(experiment_names=["prod"], tracking_uri=store.tracking_uri, write=False,
                            plugin_manager=SweepPluginManager(), **options)

    # the library's counts: every ended run is served from the cache, a refresh reads all again
    warm_result = library()
    assert warm_result.stats["cache_hits"] == len(spec) and warm_result.stats["files_read"] == 0
    assert [(w.path, w.parser) for w in warm_result.warnings] == [("layer_1/cluster_summary.json",
                                                                   "cluster_summary")]
    fresh = library(refresh=True)
    assert fresh.stats["cache_hits"] == 0 and fresh.stats["files_read"] == 3 + 2 + 1 + 8
    nan_row = fresh.df[(fresh.df["run_name"] == "nan_and_gap") & (fresh.df["layer"] == 0)].iloc[0]
    assert math.isnan(nan_row["cluster_0_circle_dist"])
    assert library(workers=1, cache=False).df.equals(fresh.df)  # serial == parallel, row for row


def test_a_file_logged_after_the_run_ended_is_exported(store, tmp_path):
    """The cache sees an ended run change on these stores: a layer logged later, and a file
    rewritten with another size, are read again."""
    base = example_summary()
    sweep = log_sweep(store, [{"artifacts": {"layer_0/cluster_summary.json": summary_for(base, 0)}}], "late")
    first = tmp_path / "first.csv"
    export_cli(store, "late", first)
    client = store.client
    late = tmp_path / "late"
    (late / "layer_1").mkdir(parents=True)
    (late / "layer_1" / "cluster_summary.json").write_text(json.dumps(summary_for(base, 1)))
    client.log_artifacts(sweep.run_ids[0], str(late))
    second = tmp_path / "second.csv"
    export_cli(store, "late", second)
    assert len(stable_cells(first)) == 2 and len(stable_cells(second)) == 3


# --- flatten ---------------------------------------------------------------------------------
def test_flatten_logs_the_same_metrics_as_on_sqlite(store, reference, tmp_path):
    spec = [{"run_name": f"r{i}", "params": {"force_k": i},
             "artifacts": {f"layer_{j}/cluster_summary.json": summary_for(example_summary(), j)
                           for j in range(i + 1)}} for i in range(3)]
    log_sweep(store, spec, "flat")
    log_sweep(reference, spec, "flat")
    for target in (store, reference):
        code, _, err = cli("flatten", "--experiment-name", "flat", "--tracking-uri", target.tracking_uri)
        assert code == 0, err

    def metrics(target):
        client = target.client
        exp = client.get_experiment_by_name("flat").experiment_id
        return {r.info.run_name: r.data.metrics for r in client.search_runs([exp])}

    got = metrics(store)
    assert got == metrics(reference)
    assert "layer_2.energy_contrast_ratio" in got["r2"]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    export_cli(store, "flat", a)
    export_cli(reference, "flat", b)
    assert stable_cells(a) == stable_cells(b)


# --- the report ------------------------------------------------------------------------------
def test_report_gives_the_same_files_as_on_sqlite(store, reference, tmp_path):
    from mlflow_sweep_plugin.plugins import get_plugin_manager

    if "hamming" not in get_plugin_manager().demos:
        pytest.skip("the hamming demo is not installed (pip install -e plugins/...)")
    outs = {}
    for label, target in (("store", store), ("sqlite", reference)):
        target.create_experiment("ham")
        code, _, err = cli("demo", "--kind", "hamming", "--experiment-name", "ham", "--runs", "6",
                           "--tracking-uri", target.tracking_uri, "-o", tmp_path / f"demo-{label}.csv")
        assert code == 0, err
        out = outs[label] = tmp_path / f"report-{label}"
        code, _, err = cli("report", "--experiment-name", "ham", "--tracking-uri", target.tracking_uri,
                           "-o", out, "--max-plots", "1", "--objective", "separation_ratio", "--mode", "max")
        assert code in (0, 1), err
    for name in ("summary.csv", "best.json", "summary.md", "summary.tex"):
        assert (outs["store"] / name).read_bytes() == (outs["sqlite"] / name).read_bytes(), name


# --- the logging API: spool and sync ---------------------------------------------------------
def _spool_round(tracking_uri, tmp_path, go_away, come_back, experiment):
    """A sweep_run whose store goes away mid-run, then ``sync``; returns the run id."""
    from mlflow_sweep_plugin import log_artifacts_by_type, log_config, log_metrics, sweep_run
    from mlflow_sweep_plugin.tracking.run import SpoolWarning

    out = tmp_path / "out"
    out.mkdir()
    (out / "before.json").write_text('{"a": 1}')
    (out / "model.pkl").write_bytes(b"weights")
    (out / "after.csv").write_text("x\n1\n")
    with sweep_run(experiment, run_name="mid", tracking_uri=tracking_uri, tags={"team": "causal"}) as run:
        run_id = run.run_id
        assert run_id and not run.spooled
        log_config({"a": 1, "b": {"c": [1, 2]}})
        log_metrics({"loss": 1.0}, step=0)
        run.log_artifact(out / "before.json", "results")
        go_away()
        started = time.monotonic()
        with pytest.warns(SpoolWarning, match="unreachable"):
            log_metrics({"loss": 0.5}, step=1)
            log_config({"late": "x"})
            run.set_tag("phase", "offline")
            log_artifacts_by_type([out / "model.pkl", out / "after.csv"])
        assert time.monotonic() - started < 30
        assert run.spooled and run.run_id == run_id
    come_back()
    code, _, err = cli("sync", "--tracking-uri", tracking_uri)
    assert code == 0, err
    assert "1 synced" in err
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"a": "1", "b.c": "1,2", "late": "x"}
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")] == [(0, 1.0), (1, 0.5)]
    assert got.data.tags["phase"] == "offline"
    assert artifact_paths(client, run_id) == ["models/model.pkl", "results/after.csv", "results/before.json"]
    code, _, err = cli("sync", "--tracking-uri", tracking_uri)
    assert code == 0 and "0 synced" in err
    return run_id


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    spool = tmp_path / "spool"
    monkeypatch.setenv("MLFLOW_SWEEP_SPOOL_DIR", str(spool))
    return spool


def test_spool_and_sync_when_postgresql_goes_away_mid_run(sweep_store_factory, postgres_cluster, spool_dir,
                                                          tmp_path, monkeypatch):
    # one connection per session: a restarted PostgreSQL leaves no dead pooled connection
    # behind in this process (a job's own process would spool on it all the same)
    monkeypatch.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    store = sweep_store_factory(backend="postgresql", artifacts="s3", current=True)
    store.create_experiment("spooled")
    run_id = _spool_round(store.tracking_uri, tmp_path, postgres_cluster.stop_server,
                          postgres_cluster.start_again, "spooled")
    uri = store.client.get_run(run_id).info.artifact_uri
    assert uri.startswith(f"s3://{store.bucket.name}/")
    assert any(k.endswith("models/model.pkl") for k in store.bucket.keys())


def test_spool_and_sync_when_the_proxied_server_goes_away_mid_run(mlflow_server_factory, spool_dir, tmp_path):
    server = mlflow_server_factory(backend="postgresql", artifacts="s3")
    run_id = _spool_round(server.url, tmp_path, server.stop, server.start, "spooled")
    from mlflow.tracking import MlflowClient

    assert MlflowClient(server.url).get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:/")


# --- mlflow run --backend sweep --------------------------------------------------------------
def _mlflow_run(tracking_uri, cwd, config: dict, *params: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_EXPERIMENT_NAME="grid")
    env["PATH"] = "/usr/bin:/bin"
    cmd = [sys.executable, "-m", "mlflow", "run", str(ROOT / "examples" / "sweep_project"), "--env-manager",
           "local", "--backend", "sweep", "--backend-config", json.dumps(config)]
    for p in params:
        cmd += ["-P", p]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_mlflow_run_sweep_backend_same_sweep_as_on_sqlite(store, reference, tmp_path):
    config = {"grid": {"lr": [0.1, 0.5], "layers": [2]}, "max_parallel": 2, "sweep_name": "grid-prod"}
    tables = {}
    for label, target in (("store", store), ("sqlite", reference)):
        target.create_experiment("grid")
        proc = _mlflow_run(target.tracking_uri, target.root, config)
        assert proc.returncode == 1, proc.stderr[-3000:]  # lr 0.5 x 2 layers diverges
        assert "1 of 2 grid points failed" in proc.stderr
        client = target.client
        exp = client.get_experiment_by_name("grid").experiment_id
        runs = client.search_runs([exp])
        parent, = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "parent"]
        children = [r for r in runs if r.data.tags.get("mlflow_sweep.role") == "child"]
        assert len(children) == 2 and parent.info.status == "FAILED"
        (tmp_path / label).mkdir()  # MLflow 2.x downloads only into a directory that exists
        local = client.download_artifacts(parent.info.run_id, "sweep_table.csv", str(tmp_path / label))
        tables[label] = stable_cells(local)
        export_cli(target, "grid", tmp_path / f"grid-{label}.csv")
    assert tables["store"] == tables["sqlite"]
    assert stable_cells(tmp_path / "grid-store.csv") == stable_cells(tmp_path / "grid-sqlite.csv")
    if store.server is None:
        assert any(k.endswith("sweep_table.csv") for k in store.bucket.keys())


# --- Hydra: the callback and import-hydra ---------------------------------------------------
def _multirun(tracking_uri, sweep_dir, experiment, *overrides):
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri)
    cmd = [sys.executable, str(ROOT / "examples" / "hydra_app" / "app.py"), "--multirun",
           f"hydra.sweep.dir={sweep_dir}", f"hydra.callbacks.mlflow_sweep.experiment_name={experiment}",
           *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=sweep_dir.parent, timeout=600)


def test_hydra_callback_and_import_hydra_same_runs_as_on_sqlite(store, reference, tmp_path):
    pytest.importorskip("hydra")
    sweep_dir = tmp_path / "multirun"
    store.create_experiment("hydra")
    proc = _multirun(store.tracking_uri, sweep_dir, "hydra", "lr=0.01,2.0", "model.width=8")
    assert proc.returncode == 1 and "loss diverged" in proc.stderr, proc.stderr[-3000:]
    for target in (store, reference):
        target.create_experiment("imported")
        code, _, err = cli("import-hydra", sweep_dir, "--experiment-name", "imported",
                           "--tracking-uri", target.tracking_uri)
        assert code == 0, err
    cells = {}
    for label, target, name in (("callback", store, "hydra"), ("imported", store, "imported"),
                                ("sqlite", reference, "imported")):
        path = tmp_path / f"{label}.csv"
        export_cli(target, name, path)  # the jobs (a parent with no record of its own is left out)
        cells[label] = stable_cells(path, drop=VOLATILE + ("experiment_name",))
    assert cells["imported"] == cells["sqlite"]
    assert cells["callback"] == cells["imported"]
    assert len(cells["sqlite"]) == 1 + 2  # header, both jobs
    client = store.client
    exp = client.get_experiment_by_name("hydra").experiment_id
    statuses = sorted(r.info.status for r in client.search_runs([exp]))
    assert statuses == ["FAILED", "FAILED", "FINISHED"]

"""Logging a sweep through the real MLflow client: ``log_sweep``, ``write_artifact``,
``artifact_paths`` and the ``make_sweep`` fixture.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import pytest

from ..sweep.query import client_uri
from ..tags import TAG_REPORT_PATH
from .store import SweepStore


def artifact_paths(client, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file of run ``run_id`` (under ``path``), sorted (MLflow 2.x resolves
    ``mlflow-artifacts:/`` against the current tracking URI: the client's, meanwhile)."""
    from ..tracking.sink import tracking_uri_set_to  # loads requests: only when a test uses it

    uri = client_uri(client)
    with tracking_uri_set_to(uri) if uri else contextlib.nullcontext():
        out = []
        for info in client.list_artifacts(run_id, path):
            out += artifact_paths(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(out)


def report_files(client, run_id: str) -> set[str]:
    """The files of the report logged on run ``run_id`` (relative to its
    ``report/<version>/`` path, which the tag ``mlflow_sweep.report.path`` names);
    empty when the run has no report."""
    path = client.get_run(run_id).data.tags.get(TAG_REPORT_PATH)
    if not path:
        return set()
    return {p[len(path) + 1:] for p in artifact_paths(client, run_id, path)}


@dataclass
class Sweep:
    """What ``make_sweep`` logged."""

    experiment_id: str
    experiment_name: str
    run_ids: list = field(default_factory=list)
    store: SweepStore | None = None


def write_artifact(directory: pathlib.Path, path: str, value) -> None:
    """Write one artifact value to ``directory/path`` (see ``make_sweep``)."""
    target = directory / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, pathlib.Path):
        if value.is_dir():
            shutil.copytree(value, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(value, target)
    elif isinstance(value, bytes):
        target.write_bytes(value)
    elif isinstance(value, str):
        target.write_text(value, encoding="utf-8")
    else:
        # json.dumps writes the bare NaN token for float('nan'), as research code does
        target.write_text(json.dumps(value, indent=2), encoding="utf-8")


def log_sweep(store: SweepStore | None, runs, experiment_name: str = "sweep",
              tracking_uri: str | None = None) -> Sweep:
    """Log a sweep through the real MLflow client (used by ``make_sweep``)."""
    from mlflow.entities import Metric, Param  # heavy: only when a test uses it
    from mlflow.tracking import MlflowClient  # heavy: only when a test uses it

    from ..tracking.sink import tracking_uri_set_to  # loads requests: only when a test uses it

    uri = tracking_uri or store.tracking_uri
    client = MlflowClient(uri)
    if store is not None:
        exp_id = store.create_experiment(experiment_name)
    else:
        exp = client.get_experiment_by_name(experiment_name)
        exp_id = exp.experiment_id if exp else client.create_experiment(experiment_name)
    if isinstance(runs, int):
        runs = [{} for _ in range(runs)]
    sweep = Sweep(experiment_id=exp_id, experiment_name=experiment_name, store=store)
    for i, spec in enumerate(runs):
        tags = dict(spec.get("tags", {}))
        run = client.create_run(exp_id, run_name=spec.get("run_name", f"run-{i}"), tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        params = [Param(str(k), str(v)) for k, v in spec.get("params", {}).items()]
        # a list of values is a history: one point per step 0, 1, ...
        metrics = [Metric(str(k), float(x), now + step, step) for k, v in spec.get("metrics", {}).items()
                   for step, x in (enumerate(v) if isinstance(v, (list, tuple)) else [(0, v)])]
        for start in range(0, max(len(params), len(metrics), 1), 100):
            client.log_batch(run_id, metrics=metrics[start:start + 100],
                             params=params[start:start + 100], tags=[])
        artifacts = spec.get("artifacts", {})
        if artifacts:
            # MLflow 2.x resolves mlflow-artifacts:/ URIs against the current tracking URI
            with tempfile.TemporaryDirectory() as tmp, tracking_uri_set_to(uri):
                for path, value in artifacts.items():
                    write_artifact(pathlib.Path(tmp), path, value)
                client.log_artifacts(run_id, tmp)
        client.set_terminated(run_id, status=spec.get("status", "FINISHED"))
        sweep.run_ids.append(run_id)
    return sweep


@pytest.fixture
def make_sweep(sweep_store):
    """``make_sweep(runs, experiment_name="sweep") -> Sweep``: log runs with artifacts."""

    def factory(runs, experiment_name: str = "sweep") -> Sweep:
        return log_sweep(sweep_store, runs, experiment_name)

    return factory

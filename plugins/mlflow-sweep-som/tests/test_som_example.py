"""The digits example end to end: ``mlflow run`` of its MLproject (local env, offline)
and its entry-point script, on a small grid, then exported."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from mlflow_sweep_som import plugin
from mlflow_sweep_som.tracking import load_som_model

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "digits"


def _env(store) -> dict:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = store.tracking_uri
    env["MLFLOW_EXPERIMENT_NAME"] = "som-digits"
    # the MLproject's command says `python`: make it this interpreter
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def test_digits_example_small_grid(sweep_store, sweep_exporter, tmp_path):
    sweep_store.create_experiment("som-digits")
    env = _env(sweep_store)
    small = ["-P", "max_samples=300", "-P", "num_iterations=200"]
    grid = [("3", "3", "1.0"), ("4", "2", "1.5")]
    # the MLproject through `mlflow run` (no conda/virtualenv: --env-manager local)
    x, y, sigma = grid[0]
    proc = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(EXAMPLE), "--env-manager", "local",
         "--experiment-name", "som-digits", "-P", f"x_dim={x}", "-P", f"y_dim={y}",
         "-P", f"sigma={sigma}", *small],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the entry-point script directly, with the current interpreter
    x, y, sigma = grid[1]
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "train_som.py"), "--x-dim", x, "--y-dim", y,
         "--sigma", sigma, "--max-samples", "300", "--num-iterations", "200"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # a non-canonical float is refused before anything is trained or logged
    proc = subprocess.run([sys.executable, str(EXAMPLE / "train_som.py"), "--sigma", "2"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "2.0" in proc.stderr

    result = sweep_exporter("som-digits", plugins=[plugin], load_entry_points=False,
                            output=str(tmp_path / "som.csv"))
    assert result.warnings == []
    df = result.df.sort_values("som_grid_size")
    assert df["som_grid_size"].tolist() == [8, 9]
    assert df["config.sigma"].tolist() == [1.5, 1.0]
    assert (df["num_samples"] == 300).all() and (df["num_features"] == 64).all()
    assert (df["status"] == "FINISHED").all()
    assert df["quantization_error"].between(0, 8).all()
    assert df["topographic_error"].between(0, 1).all()
    assert (df["metrics.label_purity"] > 0.3).all()  # a SOM of digits groups digits
    assert (tmp_path / "som.csv").exists()

    client = MlflowClient(sweep_store.tracking_uri)
    run_id = df.iloc[1]["run_id"]
    paths = sorted(a.path for d in ("models", "results", "visualizations")
                   for a in client.list_artifacts(run_id, d))
    assert "models/som_model.npz" in paths and "results/som_results.json" in paths
    assert "results/som_analysis_report.txt" in paths
    assert any(p.startswith("visualizations/") and p.endswith(".png") for p in paths)
    som = load_som_model(client.download_artifacts(run_id, "models/som_model.npz", str(tmp_path)))
    from sklearn.datasets import load_digits

    x = load_digits().data[:300] / 16.0
    assert som.quantization_error(x) == pytest.approx(df.iloc[1]["quantization_error"])
    assert np.asarray(som.get_weights()).shape == (3, 3, 64)

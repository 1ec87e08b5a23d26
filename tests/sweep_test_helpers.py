"""Plain helpers for the core tests (importable: pytest.ini puts tests/ on sys.path)."""

from __future__ import annotations

import copy
import inspect
import json
import os
import pathlib
import subprocess
import sys


def summary_for(base: dict, layer: int, **changes) -> dict:
    doc = copy.deepcopy(base)
    doc["layer"] = layer
    doc.update(changes)
    return doc


def yaml_bomb(levels: int = 9, width: int = 9, mapping: bool = False) -> bytes:
    """A "billion laughs" YAML: ``width ** levels`` values in a few hundred bytes."""
    names = [f"l{i}" for i in range(levels)]
    if mapping:
        lines = [f"{names[0]}: &{names[0]} {{" + ", ".join(f"k{j}: 1" for j in range(width)) + "}"]
        lines += [f"{n}: &{n} {{" + ", ".join(f"k{j}: *{p}" for j in range(width)) + "}"
                  for p, n in zip(names, names[1:])]
    else:
        lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["1"] * width) + "]"]
        lines += [f"{n}: &{n} [" + ", ".join([f"*{p}"] * width) + "]" for p, n in zip(names, names[1:])]
    return ("\n".join(lines) + "\n").encode()


def make_dist_info(site: pathlib.Path, dist: str, entry_points: dict, modules: dict) -> None:
    """Make an installed-looking distribution (dist-info + modules) under ``site``.

    Lets a test install a third-party plugin through a real ``mlflow_sweep`` entry point
    without pip.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{dist.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
    lines = ["[mlflow_sweep]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)


def write_project(root: pathlib.Path, mlproject: str, train: str) -> pathlib.Path:
    """An MLflow project in ``root``: its ``MLproject`` and ``train.py``."""
    root.mkdir(parents=True)
    (root / "MLproject").write_text(mlproject)
    (root / "train.py").write_text(train)
    return root


def mlflow_run(store, project, config: dict, *params: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """A real ``mlflow run PROJECT --backend sweep --backend-config CONFIG -P ...`` into
    ``store``'s experiment ``grid``. No virtualenv on PATH (and no ``python`` in /usr/bin
    here): the backend must make the entry point's ``python`` the interpreter running it."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=store.tracking_uri, MLFLOW_EXPERIMENT_NAME="grid")
    env["PATH"] = "/usr/bin:/bin"
    cmd = [sys.executable, "-m", "mlflow", "run", str(project), "--env-manager", "local",
           "--backend", "sweep", "--backend-config", json.dumps(config)]
    for p in params:
        cmd += ["-P", p]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=store.root, timeout=timeout)


def cli(*args, env=None):
    """``mlflow-sweep`` in-process; (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from mlflow_sweep_plugin.cli import main
    from mlflow_sweep_plugin.plugins import reset_plugin_manager

    kwargs = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {}
    reset_plugin_manager()
    try:
        res = CliRunner(**kwargs).invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    finally:
        reset_plugin_manager()
    return res.exit_code, res.stdout, res.stderr

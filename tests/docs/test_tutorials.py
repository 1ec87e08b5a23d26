"""The tutorials work as written: their shell and Python examples run, in order, in a
fresh directory on MLflow's embedded sqlite store (as tests/test_readme.py does for the
README).

The convention (docs/about.md): every ```bash and ```python block of a tutorial is run; a
block whose first line is ``# NAME`` alone (``# log_sweep.py``, ``# setup.cfg``) is
written to that file instead; blocks fenced otherwise (```shell, ```py, ```yaml, ```text)
are illustration and are not run.

Each tutorial starts real processes (``mlflow run``, a Hydra multirun, pytest): tens of
seconds, so they are in the ``slow`` group (``python -m pytest -m slow``, run by CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from docs_test_helpers import DOCS, ROOT
from sweep_test_helpers import make_dist_info

FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
FILE_LINE = re.compile(r"# ([\w./-]+)$")
RUN = {"bash", "python"}


def blocks(rel: str) -> list[tuple[str, str]]:
    return FENCE.findall((DOCS / rel).read_text(encoding="utf-8"))


def run_tutorial(rel: str, cwd, env) -> list[str]:
    """Run one tutorial's examples in ``cwd``; returns the commands run, in order."""
    ran = []
    for lang, body in blocks(rel):
        first = body.split("\n", 1)[0].strip()
        target = FILE_LINE.match(first)
        if target and lang in ("python", "ini", "yaml", "toml"):
            path = cwd / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if lang not in RUN:
            continue
        cmd = ["bash", "-euo", "pipefail", "-c", body] if lang == "bash" else [sys.executable, "-c", body]
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (f"{rel}: this {lang} block failed ({proc.returncode}):\n{body}\n"
                                      f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
        ran.append(body)
    return ran


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty directory with a copy of the repository's examples/, and the environment
    a new user has: no tracking URI (MLflow's default sqlite:///mlflow.db, here), this
    interpreter's scripts first on PATH, a cache of its own."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_EXPERIMENT_", "MLFLOW_RUN_ID", "MLFLOW_SWEEP_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["MLFLOW_SWEEP_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return tmp_path, env


def test_every_tutorial_is_tested():
    tutorials = {p.name for p in (DOCS / "tutorials").glob("*.md")} - {"index.md"}
    tested = {"first-sweep.md", "hydra-app.md", "parser-plugin.md"}
    assert tutorials == tested, "a new tutorial needs a test here"


@pytest.mark.slow
def test_first_sweep(workdir):
    cwd, env = workdir
    ran = run_tutorial("tutorials/first-sweep.md", cwd, env)
    assert any("mlflow-sweep report" in b for b in ran) and any("--backend sweep" in b for b in ran)
    assert any('"strategy"' in b for b in ran) and any("mlflow-sweep status" in b for b in ran)
    assert (cwd / "mlflow.db").exists() and (cwd / "report" / "report.html").exists()


@pytest.mark.slow
def test_hydra_app(workdir):
    pytest.importorskip("hydra")
    cwd, env = workdir
    ran = run_tutorial("tutorials/hydra-app.md", cwd, env)
    assert any("import-hydra" in b for b in ran)
    assert any("hydra/sweeper=mlflow_sweep" in b for b in ran)


@pytest.mark.slow
def test_parser_plugin(workdir):
    """The plugin and its test, run as a third party would: the module on the path, an
    entry point in the ``mlflow_sweep`` group (as ``pip install -e .`` of its setup.cfg
    makes), plain pytest (the harness comes through its ``pytest11`` entry point)."""
    cwd, env = workdir
    site = cwd / "site"
    make_dist_info(site, "my-sweep-plugin", {"scores": "my_sweep_plugin"}, {})
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(cwd), env["PYTHONPATH"]])
    ran = run_tutorial("tutorials/parser-plugin.md", cwd, env)
    assert "[options.entry_points]" in (cwd / "setup.cfg").read_text()
    assert (cwd / "tests" / "test_scores.py").exists()
    assert any("pytest" in b for b in ran)
    listed = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "plugins"], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120).stdout
    assert "parser scores (v1): eval/{split}/scores.json" in listed

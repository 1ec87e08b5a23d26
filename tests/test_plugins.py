"""Plugin loading: entry points, a broken third-party plugin, disable and trace switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

from mlflow_sweep_plugin.plugins import PluginLoadWarning, SweepPluginManager
from sweep_test_helpers import make_dist_info

GOOD = '''
from mlflow_sweep_plugin import hookimpl

def parse_scores(data, ctx):
    """Scores per split."""
    yield {"acc": data["acc"]}

@hookimpl
def sweep_register_parsers(register):
    register("scores", "eval/{split}/scores.json", parse_scores, version="2")
'''

BROKEN = '''
raise ImportError("needs a library that is not installed: torch_geometric_xyz")
'''

RAISING_HOOK = '''
from mlflow_sweep_plugin import hookimpl

@hookimpl
def sweep_register_parsers(register):
    raise RuntimeError("bug in the plugin")
'''


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist_info(site, "sweep-scores", {"scores": "sweep_scores_plugin"}, {"sweep_scores_plugin": GOOD})
    make_dist_info(site, "sweep-broken", {"broken": "sweep_broken_plugin"}, {"sweep_broken_plugin": BROKEN})
    make_dist_info(site, "sweep-raising", {"raising": "sweep_raising_plugin"},
                   {"sweep_raising_plugin": RAISING_HOOK})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return site


def test_broken_plugin_warns_once_and_others_work(third_party, make_sweep, sweep_exporter):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm = SweepPluginManager()
        parsers = pm.parsers
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    broken = [m for m in messages if "'broken'" in m]
    assert len(broken) == 1 and "torch_geometric_xyz" in broken[0] and "sweep-broken" in broken[0]
    assert any("'sweep-raising'" in m and "bug in the plugin" in m for m in messages)
    assert "scores" in parsers and "cluster_summary" in parsers

    make_sweep([{"artifacts": {"eval/val/scores.json": {"acc": 0.75},
                               "eval/test/scores.json": {"acc": 0.5}}}])
    df = sweep_exporter().df.sort_values("split")
    assert df["split"].tolist() == ["test", "val"]
    assert df["acc"].tolist() == [0.5, 0.75]


def test_broken_plugin_in_cli_and_strict(third_party, make_sweep, sweep_cli, tmp_path):
    make_sweep([{"artifacts": {"eval/val/scores.json": {"acc": 0.75}}}])
    res = sweep_cli("export", "--experiment-name", "sweep", "-o", tmp_path / "o.csv").assert_success()
    assert res.stderr.count("torch_geometric_xyz") == 1
    assert "2 warnings" in res.stderr  # the broken import and the raising hook
    res = sweep_cli("export", "--experiment-name", "sweep", "-o", tmp_path / "o.csv", "--strict")
    assert res.exit_code == 1


def test_disable_plugins_env(third_party, monkeypatch):
    monkeypatch.setenv("MLFLOW_SWEEP_DISABLE_PLUGINS", "broken, sweep-raising")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm = SweepPluginManager()
        assert "scores" in pm.parsers
    assert not [w for w in caught if issubclass(w.category, PluginLoadWarning)]
    monkeypatch.setenv("MLFLOW_SWEEP_DISABLE_PLUGINS", "*")
    assert SweepPluginManager().parsers == {}


def test_plugins_command_lists_parsers(third_party, sweep_cli):
    res = sweep_cli("plugins", "--json").assert_success()
    entries = {e["distribution"] or e["name"]: e for e in json.loads(res.stdout)}
    assert entries["sweep-scores"]["version"] == "0.0.1"
    assert entries["sweep-scores"]["parsers"][0]["pattern"] == "eval/{split}/scores.json"
    assert entries["sweep-scores"]["parsers"][0]["description"] == "Scores per split."
    assert "torch_geometric_xyz" in entries["sweep-broken"]["error"]
    assert entries["mlflow-sweep-clustering"]["parsers"][0]["name"] == "cluster_summary"
    assert entries["mlflow-sweep-clustering"]["loggers"] == ["hamming"]
    assert entries["sweep-scores"]["loggers"] == []
    text = sweep_cli("plugins").stdout
    assert "parser scores (v2): eval/{split}/scores.json" in text
    assert "failed to load" in text


def test_trace_env_logs_hook_calls(third_party):
    env = dict(os.environ, MLFLOW_SWEEP_TRACE_PLUGINS="1", MLFLOW_SWEEP_DISABLE_PLUGINS="broken,raising")
    proc = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "plugins"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[mlflow-sweep trace]" in proc.stderr and "sweep_register_parsers" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "plugins"],
                          capture_output=True, text=True, env=dict(env, MLFLOW_SWEEP_TRACE_PLUGINS=""),
                          timeout=120)
    assert "[mlflow-sweep trace]" not in proc.stderr


def test_extra_plugin_object_and_duplicate_name_warns():
    class One:
        @staticmethod
        def sweep_register_parsers(register):
            register("dup", "a.json", lambda d, c: [d])

    class Two:
        @staticmethod
        def sweep_register_parsers(register):
            register("dup", "b.json", lambda d, c: [d])

    from mlflow_sweep_plugin import hookimpl

    One.sweep_register_parsers = hookimpl(One.sweep_register_parsers)
    Two.sweep_register_parsers = hookimpl(Two.sweep_register_parsers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm = SweepPluginManager(extra_plugins=[One, Two], load_entry_points=False)
        assert pm.parsers["dup"].pattern in ("a.json", "b.json")
    assert any("replaces" in str(w.message) for w in caught)

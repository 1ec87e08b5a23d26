"""flatten_artifacts and ``mlflow-sweep flatten``: artifacts -> run metrics via parsers."""

from __future__ import annotations

import math
import types

import pytest

from mlflow_sweep_plugin import BadArtifact, flatten_artifacts, hookimpl
from mlflow_sweep_plugin.plugins import SweepPluginManager
from mlflow_sweep_plugin.tracking.flatten_artifacts import metrics_from_records


def _layer(content, ctx):
    if "ecr" not in content:
        raise BadArtifact("no 'ecr' in the summary")
    return [{"layer": ctx.captures["layer"], "energy_contrast_ratio": content["ecr"],
             "best": "simplex_3", "ok": True, "n": 4, "nan": float("nan")}]


def _executions(content, ctx):
    return [{"method": "wanda", **e} for e in content["executions"]]


def _learners(content, ctx):
    return [{"learner": name, **values} for name, values in content.items()]


def _single(content, ctx):
    return {"quantization_error": content["qe"], "label": "x"}


def _plugin():
    @hookimpl
    def sweep_register_parsers(register):
        register("layers", "layer_{layer}/summary.json", _layer)
        register("executions", "summary/metrics_summary.json", _executions)
        register("learners", "metrics.yaml", _learners)
        register("som", "results/som_results.json", _single)

    module = types.ModuleType("flatten_test_plugin")
    module.sweep_register_parsers = sweep_register_parsers
    return module


@pytest.fixture
def pm():
    return SweepPluginManager(extra_plugins=[_plugin()], load_entry_points=False)


ARTIFACTS = {
    "layer_0/summary.json": {"ecr": 0.5},
    "layer_12/summary.json": {"ecr": 0.25},
    "layer_3/summary.json": {"no": "ecr"},
    "summary/metrics_summary.json": {"executions": [
        {"seed": 0, "k": 4, "feature_idx": 9, "separation_ratio": 1.5},
        {"seed": 0, "k": 8, "feature_idx": 9, "separation_ratio": 1.75},
        {"seed": 1, "k": 4, "feature_idx": 2, "separation_ratio": 1.25},
    ]},
    "metrics.yaml": "SVGD:\n  eshd: 1.75\n  auroc: 0.9375\nEnsemble:\n  eshd: 2.5\n",
    "results/som_results.json": {"qe": 0.41},
}

EXPECTED = {
    "layer_0.energy_contrast_ratio": 0.5,
    "layer_0.n": 4.0,
    "layer_0.nan": math.nan,
    "layer_12.energy_contrast_ratio": 0.25,
    "layer_12.n": 4.0,
    "layer_12.nan": math.nan,
    "seed_0.k_4.separation_ratio": 1.5,
    "seed_0.k_8.separation_ratio": 1.75,
    "seed_1.k_4.separation_ratio": 1.25,
    "seed_0.k_4.feature_idx": 9.0,
    "seed_0.k_8.feature_idx": 9.0,
    "seed_1.k_4.feature_idx": 2.0,
    "learner_SVGD.eshd": 1.75,
    "learner_SVGD.auroc": 0.9375,
    "learner_Ensemble.eshd": 2.5,
    "som.quantization_error": 0.41,
}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_flatten_logs_unique_metrics_once(make_sweep, pm):
    from mlflow.tracking import MlflowClient

    sweep = make_sweep([{"artifacts": ARTIFACTS, "metrics": {"own": 1.0}}])
    run_id = sweep.run_ids[0]
    first = flatten_artifacts(run_id, plugin_manager=pm)
    assert _same(first.logged, EXPECTED), sorted(first.logged)
    # the bad file is one warning naming run and path; the other layers still count
    assert len(first.warnings) == 1
    assert "layer_3/summary.json" in str(first.warnings[0]) and run_id in str(first.warnings[0])
    client = MlflowClient()
    metrics = client.get_run(run_id).data.metrics
    assert _same({k: v for k, v in metrics.items() if k != "own"}, EXPECTED)
    # idempotent: nothing new, no second history point
    again = flatten_artifacts(run_id, plugin_manager=pm)
    assert again.logged == {} and _same(again.unchanged, EXPECTED)
    assert len(client.get_metric_history(run_id, "layer_0.energy_contrast_ratio")) == 1
    assert len(client.get_metric_history(run_id, "layer_0.nan")) == 1


def test_changed_artifact_logs_new_value(make_sweep, pm, tmp_path):
    from mlflow.tracking import MlflowClient

    sweep = make_sweep([{"artifacts": {"layer_0/summary.json": {"ecr": 0.5}}}])
    run_id = sweep.run_ids[0]
    flatten_artifacts(run_id, plugin_manager=pm, parsers=["layers"])
    client = MlflowClient()
    (tmp_path / "layer_0").mkdir()
    (tmp_path / "layer_0" / "summary.json").write_text('{"ecr": 0.75}')
    client.log_artifact(run_id, str(tmp_path / "layer_0" / "summary.json"), "layer_0")
    result = flatten_artifacts(run_id, plugin_manager=pm, parsers=["layers"], step=1)
    assert result.logged == {"layer_0.energy_contrast_ratio": 0.75}
    assert client.get_run(run_id).data.metrics["layer_0.energy_contrast_ratio"] == 0.75


def test_unknown_parser_is_a_usage_error(make_sweep, pm):
    from mlflow_sweep_plugin.errors import UsageError

    sweep = make_sweep(1)
    with pytest.raises(UsageError, match="nope"):
        flatten_artifacts(sweep.run_ids[0], plugin_manager=pm, parsers=["nope"])


def test_names_fall_back_to_record_index_and_parser():
    groups = [
        ("p", [], [{"v": 1.0}, {"v": 2.0}]),  # nothing tells them apart
        ("q", ["layer"], [{"layer": 0, "v": 3.0}]),
        ("r", ["layer"], [{"layer": 0, "v": 4.0}]),  # same name, other value: under "r"
    ]
    assert metrics_from_records(groups) == {"record_0.v": 1.0, "record_1.v": 2.0,
                                            "layer_0.v": 3.0, "r.layer_0.v": 4.0}


def test_flatten_command(make_sweep, sweep_cli, monkeypatch):
    """The CLI runs the installed parsers: use a real entry-point-free plugin via the
    manager the command builds (the clustering plugin when installed)."""
    pytest.importorskip("mlflow_sweep_clustering")
    import json
    import pathlib

    data = pathlib.Path(__file__).parent.parent / "data" / "clustering_run" / "layer_0" / "cluster_summary.json"
    summary = json.loads(data.read_text())
    sweep = make_sweep([{"artifacts": {"layer_0/cluster_summary.json": summary}},
                        {"artifacts": {"layer_1/cluster_summary.json": {**summary, "layer": 1}}}],
                       experiment_name="flat")
    result = sweep_cli("flatten", "--experiment-name", "flat").assert_success()
    assert "2 runs" in result.stderr
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    m0 = client.get_run(sweep.run_ids[0]).data.metrics
    m1 = client.get_run(sweep.run_ids[1]).data.metrics
    assert m0["layer_0.energy_contrast_ratio"] == summary["energy_contrast_ratio"]
    assert "layer_1.energy_contrast_ratio" in m1
    again = sweep_cli("flatten", sweep.run_ids[0]).assert_success()
    assert "0 new" in again.stderr
    missing = sweep_cli("flatten", "--experiment-name", "nope")
    assert missing.exit_code == 2 and "nope" in missing.stderr
    usage = sweep_cli("flatten")
    assert usage.exit_code == 2

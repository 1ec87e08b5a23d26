"""One warning channel: the library warns through ``warnings``; commands print in one place."""

from __future__ import annotations

import types
import warnings

import pytest

from mlflow_sweep_plugin import hookimpl
from mlflow_sweep_plugin.console import printing_warnings
from mlflow_sweep_plugin.warning_types import PluginLoadWarning, SweepWarning, warn


def _plugin():
    def parse(data, ctx):
        if "v" not in data:
            from mlflow_sweep_plugin.errors import BadArtifact

            raise BadArtifact("no v")
        return [{"v": data["v"]}]

    @hookimpl
    def sweep_register_parsers(register):
        register("vals", "v.json", parse)

    module = types.ModuleType("vals_plugin")
    module.sweep_register_parsers = sweep_register_parsers
    return module


def test_export_warnings_go_through_warnings_and_onto_the_result(make_sweep, sweep_exporter):
    sweep = make_sweep([{"artifacts": {"v.json": {"v": 1}}}, {"artifacts": {"v.json": {"w": 2}}}])
    with pytest.warns(SweepWarning) as record:
        result = sweep_exporter(plugins=[_plugin()], load_entry_points=False, parser_names=["vals"],
                                cache=False)
    emitted = [w.message for w in record if isinstance(w.message, SweepWarning)]
    assert emitted == result.warnings
    (w,) = emitted
    assert (w.run_id, w.path, w.parser, w.kind) == (sweep.run_ids[1], "v.json", "vals", "artifact")
    assert str(w) == f"run {sweep.run_ids[1]}, artifact v.json (parser vals): no v"


def test_printing_warnings_prints_ours_once_each_and_leaves_others_alone():
    lines, collected = [], []
    with warnings.catch_warnings(record=True) as others:
        warnings.simplefilter("always")
        with printing_warnings(lines.append, collected):
            warn("the table could not be made")
            warn("the table could not be made")  # the same text twice: both are told
            warn(PluginLoadWarning("mlflow-sweep: plugin 'x' could not be loaded"))
            warnings.warn("someone else's", UserWarning)
    assert lines == ["mlflow-sweep: warning: the table could not be made"] * 2 + [
        "mlflow-sweep: warning: plugin 'x' could not be loaded"]
    assert len(collected) == 3
    assert [str(w.message) for w in others] == ["someone else's"]

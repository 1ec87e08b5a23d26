"""Process-wide tuning belongs to the export command, never to the library."""

from __future__ import annotations

import gc
import sys
import types

from mlflow_sweep_plugin import hookimpl
from mlflow_sweep_plugin.process import RUNTIME_PROBES, export_tuning
from mlflow_sweep_plugin.process import gc_frozen as _gc_frozen


def test_gc_frozen_during_export_and_restored():
    assert gc.get_freeze_count() == 0
    with _gc_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_host_freeze_is_not_undone():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with _gc_frozen():
            pass
        after = gc.get_freeze_count()
        # a frozen object that dies (refcount) leaves the count, so it may shrink a little
        # (threads of earlier tests still run); undoing the host's freeze would take it to 0
        assert 0 < after <= before
    finally:
        gc.unfreeze()


def _spy_plugin(seen: list):
    """A parser that records, while the export runs, what the interpreter looks like."""

    def parse(data, ctx):
        seen.append((gc.get_freeze_count(), [n for n in RUNTIME_PROBES if sys.modules.get(n, 0) is None]))
        return [{"v": data["v"]}]

    @hookimpl
    def sweep_register_parsers(register):
        register("spy", "v.json", parse)

    module = types.ModuleType("spy_plugin")
    module.sweep_register_parsers = sweep_register_parsers
    return module


def test_the_library_export_leaves_the_interpreter_alone(make_sweep, sweep_exporter):
    make_sweep([{"artifacts": {"v.json": {"v": 1}}}])
    seen: list = []
    result = sweep_exporter(plugins=[_spy_plugin(seen)], load_entry_points=False, parser_names=["spy"],
                            cache=False)
    assert result.df["v"].tolist() == [1]
    assert seen == [(0, [])]  # no GC freeze, no module marked absent in sys.modules


def test_the_command_tuning_applies_and_is_undone(make_sweep, sweep_exporter):
    make_sweep([{"artifacts": {"v.json": {"v": 1}}}])
    seen: list = []
    with export_tuning():
        sweep_exporter(plugins=[_spy_plugin(seen)], load_entry_points=False, parser_names=["spy"], cache=False)
    assert seen[0][0] > 0
    assert gc.get_freeze_count() == 0
    assert not [n for n in RUNTIME_PROBES if sys.modules.get(n, 0) is None]

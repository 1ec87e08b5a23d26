"""The export freezes the GC while it runs and leaves a host's own freeze alone."""

from __future__ import annotations

import gc

from mlflow_sweep_plugin.export import _gc_frozen


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
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()

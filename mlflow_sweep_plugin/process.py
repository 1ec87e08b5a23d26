"""Process-wide tuning the commands apply around an export; never the library.

Why not inside :func:`~mlflow_sweep_plugin.export.export_sweep`: both change the
interpreter (the garbage collector, ``sys.modules``), which a host application calling
the library must not have done behind its back. ``mlflow-sweep export`` (and the
benchmarks, to measure what the command does) opt in with :func:`export_tuning`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import sys

#: modules MLflow tries to import on every HTTP request (Databricks runtime probes)
RUNTIME_PROBES = ("dbruntime", "pyspark", "IPython")


@contextlib.contextmanager
def gc_frozen():
    """Keep the objects that exist before the export (MLflow, SQLAlchemy, pandas: a few
    hundred thousand) out of the garbage collector's full passes while the export
    allocates its rows; measured ~30 % off a warm export. Undone after."""
    # not when the host already froze objects itself (gc.unfreeze would undo its freeze)
    freeze = gc.isenabled() and hasattr(gc, "freeze") and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


@contextlib.contextmanager
def absent_runtime_probes():
    """Make MLflow's per-request Databricks probes cheap while an export runs.

    MLflow's request headers ask, on every HTTP request, whether it runs in a Databricks
    notebook: it imports ``dbruntime``, ``IPython`` and ``pyspark``, and a failed import
    is not remembered, so where they are not installed each request pays ~1 ms of CPU
    searching ``sys.path`` (thousands of requests per export). Modules that are not
    installed are marked absent in ``sys.modules`` (what Python does for ``import x``
    failing fast) and unmarked after.
    """
    marked = []
    for name in RUNTIME_PROBES:
        if name in sys.modules:
            continue
        try:
            missing = importlib.util.find_spec(name) is None
        except (ImportError, ValueError):
            missing = False
        if missing:
            sys.modules[name] = None
            marked.append(name)
    try:
        yield
    finally:
        for name in marked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


@contextlib.contextmanager
def export_tuning():
    """Both of the above, for the length of a command's export."""
    with absent_runtime_probes(), gc_frozen():
        yield

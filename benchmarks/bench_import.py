"""How much does having mlflow-sweep installed add to ``import mlflow``?

MLflow imports our run context provider entry point on every ``import mlflow``. This
script times ``import mlflow`` in fresh interpreters, alternating two variants that
differ only in whether MLflow sees our entry point (the baseline filters it out of
``importlib.metadata.entry_points``), and prints both medians and their ratio.
Usage: ``python benchmarks/bench_import.py [-n 11]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

# makes MLflow not see our run-context-provider entry point (when HIDE is true)
HIDE_OURS = r"""
import importlib.metadata as md
_orig = md.entry_points
def entry_points(**kw):
    eps = _orig(**kw)
    if HIDE and kw.get("group") == "mlflow.run_context_provider":
        return md.EntryPoints(e for e in eps if not e.value.startswith("mlflow_sweep_plugin"))
    return eps
md.entry_points = entry_points
"""

PROBE = "HIDE = {hide!r}" + HIDE_OURS.replace("{", "{{").replace("}", "}}") + r"""
import sys, time
t = time.perf_counter()
import mlflow
dt = time.perf_counter() - t
print(dt, any(m.startswith("mlflow_sweep_plugin") for m in sys.modules))
"""


def one(hide: bool) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE.format(hide=hide)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[1] == str(not hide), out  # the variant really did (not) load our module
    return float(out[0])


DIRECT = "HIDE = True" + HIDE_OURS + r"""
import time
import mlflow
t = time.perf_counter()
import mlflow_sweep_plugin.mlflow_hooks.context
print(time.perf_counter() - t)
"""


def direct() -> float:
    """Our entry point module's own import time, with MLflow already imported."""
    return float(subprocess.run([sys.executable, "-c", DIRECT], capture_output=True, text=True,
                                check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=11, help="repetitions of each variant")
    args = ap.parse_args()
    base, ours = [], []
    for _ in range(args.n):
        base.append(one(hide=True))
        ours.append(one(hide=False))
    b, o = statistics.median(base), statistics.median(ours)
    own = statistics.median(direct() for _ in range(args.n))
    print(json.dumps({"baseline_ms": round(b * 1000, 1), "with_mlflow_sweep_ms": round(o * 1000, 1),
                      "difference_ms": round((o - b) * 1000, 1), "ratio": round(o / b, 4),
                      "our_module_import_ms": round(own * 1000, 2),
                      "runs": args.n}))


if __name__ == "__main__":
    main()

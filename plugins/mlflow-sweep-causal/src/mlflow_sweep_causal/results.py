"""Causal-discovery run artifacts -> one record per learner.

A run (``causal_results.md``) holds ``metrics.yaml`` (what each learner reported),
``ground_truth.yaml`` and ``<learner>/particles.npz``. Three parsers share the work so
that every record appears exactly once and every bad file is reported by name:

- ``causal_metrics`` (``metrics.yaml``): one record per learner listed there, with the
  reported ``eshd``, ``auroc``, ``negll_obs``, ``negll_intrv`` (empty when absent) and,
  when the ground truth and that learner's particles are valid, ``eshd_computed`` and
  ``auroc_computed``.
- ``causal_particles`` (``{learner}/particles.npz``): validates the particles (a bad
  file is the warning that names it) and yields the record of a learner that
  ``causal_metrics`` does not cover: no ``metrics.yaml``, no entry for it there, or a
  ``metrics.yaml`` that is itself bad. Its reported metrics are empty.
- ``causal_ground_truth`` (``ground_truth.yaml``): validates the ground truth and yields
  no record, so a bad ground truth is one warning naming that file, not one per learner.

Pickles (``thetas.pkl``, ``ground_truth_theta.pkl``) are never opened; ``.npz`` files
are read with ``allow_pickle=False`` (an object array is bad input).
"""

from __future__ import annotations

import math
from numbers import Real

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.parsers.checks import floating

METRICS_PATTERN = "metrics.yaml"
PARTICLES_PATTERN = "{learner}/particles.npz"
GROUND_TRUTH_PATTERN = "ground_truth.yaml"
GROUND_TRUTH_PATH = "ground_truth.yaml"
METRICS_PATH = "metrics.yaml"
PARSER_VERSION = "1"

REPORTED = ("eshd", "auroc", "negll_obs", "negll_intrv")
COMPUTED = ("eshd_computed", "auroc_computed")
RESERVED = frozenset(("learner",) + COMPUTED)


def particles_path(learner: str) -> str:
    return f"{learner}/particles.npz"


# ---------------------------------------------------------------- metrics.yaml


def reported_metrics(content) -> dict[str, dict]:
    """``{learner: {metric: float | None}}`` from a loaded ``metrics.yaml``.

    Every learner is a mapping of metric names to numbers (``null`` allowed). Metrics
    other than the four of the format are kept under their own names.
    """
    if not isinstance(content, dict):
        raise BadArtifact(f"metrics.yaml: expected a mapping of learners, got {type(content).__name__}")
    out: dict[str, dict] = {}
    for learner, metrics in content.items():
        if not isinstance(learner, str) or not learner or "/" in learner:
            raise BadArtifact(f"metrics.yaml: learner name {learner!r} is not a plain name")
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise BadArtifact(f"metrics.yaml: {learner}: expected a mapping of metrics, "
                              f"got {type(metrics).__name__}")
        rec = {}
        for name, value in metrics.items():
            if not isinstance(name, str) or name in RESERVED:
                raise BadArtifact(f"metrics.yaml: {learner}: metric name {name!r} is not allowed")
            rec[name] = floating(value, f"metrics.yaml: {learner}.{name}")
        out[learner] = rec
    return out


# ---------------------------------------------------------------- ground_truth.yaml


def ground_truth(content):
    """The adjacency of a loaded ``ground_truth.yaml`` as a (d, d) 0/1 array."""
    from .graph_metrics import check_truth

    if not isinstance(content, dict):
        raise BadArtifact(f"ground_truth.yaml: expected a mapping, got {type(content).__name__}")
    if "adjacency" not in content:
        raise BadArtifact("ground_truth.yaml: missing 'adjacency'")
    adjacency = content["adjacency"]
    if not isinstance(adjacency, list) or not all(isinstance(row, list) for row in adjacency):
        raise BadArtifact("ground_truth.yaml: 'adjacency' must be a list of rows")
    if any(isinstance(v, bool) or not isinstance(v, Real) for row in adjacency for v in row):
        raise BadArtifact("ground_truth.yaml: 'adjacency' entries must be 0 or 1")
    if len({len(row) for row in adjacency}) > 1:
        raise BadArtifact("ground_truth.yaml: 'adjacency' rows differ in length")
    try:
        truth = check_truth(adjacency)
    except ValueError as exc:
        raise BadArtifact(f"ground_truth.yaml: {exc}") from None
    nodes = content.get("nodes")
    if nodes is not None:
        if not isinstance(nodes, list):
            raise BadArtifact("ground_truth.yaml: 'nodes' must be a list")
        if len(nodes) != truth.shape[0]:
            raise BadArtifact(f"ground_truth.yaml: {len(nodes)} nodes but a "
                              f"{truth.shape[0]}x{truth.shape[0]} adjacency")
    return truth


# ---------------------------------------------------------------- particles.npz


def particles(content, d: int | None = None):
    """``(graphs, weights)`` from a loaded ``particles.npz`` (dict of arrays)."""
    from .graph_metrics import check_particles

    if not isinstance(content, dict):
        raise BadArtifact(f"particles.npz: expected arrays, got {type(content).__name__}")
    if "graphs" not in content:
        raise BadArtifact(f"particles.npz: no 'graphs' array (has: {', '.join(sorted(content)) or 'nothing'})")
    try:
        return check_particles(content["graphs"], content.get("weights"), d=d)
    except ValueError as exc:
        raise BadArtifact(f"particles.npz: {exc}") from None


def computed_metrics(graphs, weights, truth) -> dict:
    """``eshd_computed`` and ``auroc_computed`` (``None`` where AUROC is undefined)."""
    from .graph_metrics import edge_auroc, expected_shd

    auroc = edge_auroc(graphs, truth, weights)
    return {"eshd_computed": expected_shd(graphs, truth, weights),
            "auroc_computed": None if math.isnan(auroc) else auroc}


# ---------------------------------------------------------------- reading siblings


def _read_sibling(ctx, path: str) -> bytes | None:
    """Raw bytes of another artifact of the run, or None when it cannot be read.

    Always tried, not looked up in ``ctx.list()``: a remote listing only covers what
    the selected parsers' patterns can match. Whatever is wrong with the sibling is
    reported by that file's own parser.
    """
    try:
        return ctx.read(path)
    except Exception:  # noqa: BLE001 - absent or unreadable
        return None


def _quiet(fn, *args):
    """fn(*args), or None when it raises: a problem another parser reports by name."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001
        return None


def _load_truth(ctx):
    from mlflow_sweep_plugin.parsers.loaders import load_yaml

    raw = _read_sibling(ctx, GROUND_TRUTH_PATH)
    if raw is None:
        return None
    return _quiet(lambda: ground_truth(load_yaml(raw)))


def _load_particles(ctx, learner, truth):
    from mlflow_sweep_plugin.parsers.loaders import load_npz

    raw = _read_sibling(ctx, particles_path(learner))
    if raw is None:
        return None
    return _quiet(lambda: particles(load_npz(raw), d=truth.shape[0]))


def _record(learner: str, reported: dict) -> dict:
    rec = {"learner": learner}
    for name in REPORTED:
        rec[name] = reported.get(name)
    for name, value in reported.items():
        rec.setdefault(name, value)
    for name in COMPUTED:
        rec[name] = None
    return rec


# ---------------------------------------------------------------- the parsers


def parse_metrics(content, ctx) -> list[dict]:
    """One record per learner in ``metrics.yaml``: reported and computed metrics."""
    reported = reported_metrics(content)
    truth = _load_truth(ctx)
    records = []
    for learner, metrics in reported.items():
        rec = _record(learner, metrics)
        if truth is not None:
            loaded = _load_particles(ctx, learner, truth)
            if loaded is not None:
                rec.update(computed_metrics(loaded[0], loaded[1], truth))
        records.append(rec)
    return records


def _covered_by_metrics(ctx, learner: str) -> bool:
    """Does ``causal_metrics`` yield this learner's record (a valid metrics.yaml lists it)?"""
    from mlflow_sweep_plugin.parsers.loaders import load_yaml

    raw = _read_sibling(ctx, METRICS_PATH)
    if raw is None:
        return False
    reported = _quiet(lambda: reported_metrics(load_yaml(raw)))
    return reported is not None and learner in reported


def parse_particles(content, ctx) -> list[dict]:
    """Validate ``<learner>/particles.npz``; the learner's record when metrics.yaml lacks it."""
    learner = ctx.path.split("/", 1)[0]  # the raw directory name (captures coerce "1" to 1)
    truth = _load_truth(ctx)
    graphs, weights = particles(content, d=None if truth is None else truth.shape[0])
    if _covered_by_metrics(ctx, learner):
        return []
    rec = _record(learner, {})
    if truth is not None:
        rec.update(computed_metrics(graphs, weights, truth))
    return [rec]


def parse_ground_truth(content, ctx) -> list[dict]:
    """Validate ``ground_truth.yaml`` (its values reach the records through the others)."""
    ground_truth(content)
    return []

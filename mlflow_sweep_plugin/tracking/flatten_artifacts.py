"""Artifacts -> run metrics, through the same parsers the export uses.

The MLflow UI sorts and compares runs by metrics, not by what is inside their JSON
files. :func:`flatten_artifacts` runs the registered parsers over one run's artifacts
(:func:`mlflow_sweep_plugin.export.read_run`, so export and logging read files
the same way) and logs every numeric field of every record as a metric.

Metric names (each unique within the run):

- the record's pattern captures first, as ``<capture>_<value>``:
  ``layer_{layer}/cluster_summary.json`` gives ``layer_0.energy_contrast_ratio``;
- a file without captures is named by its parser: ``som.quantization_error``;
- when one file yields several records with the same captures (one per seed and k,
  one per learner), the text and integer fields that tell them apart, in record
  order, are added: ``seed_0.k_4.separation_ratio``, ``learner_SVGD.eshd``; failing
  that, the record's index (``record_3``);
- if two parsers still produce the same name, the later one is put under its parser
  name.

Capture and discriminating fields are not logged as metrics themselves; text and
boolean fields are never logged. Idempotent: a metric whose latest value already
equals the record's value is not logged again (NaN equals NaN, and infinities equal
the largest float the SQL stores keep for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real

from mlflow.tracking import MlflowClient

from ..export.parse import read_run
from ..export.session import ReadSession
from ..failures import fail_fast_http
from ..parsers import Parser
from ..plugins import get_plugin_manager
from ..warning_types import warn
from .keys import metric_name
from .metrics import stored_value
from .sink import ClientSink, now_ms

_INT_TYPES = (int,)


@dataclass
class FlattenResult:
    """What :func:`flatten_artifacts` did for one run."""

    run_id: str
    logged: dict = field(default_factory=dict)  # name -> value logged now
    unchanged: dict = field(default_factory=dict)  # name -> value already on the run
    warnings: list = field(default_factory=list)  # SweepWarning (bad artifacts)

    @property
    def metrics(self) -> dict:
        """Every metric the artifacts yield (new and already logged)."""
        return {**self.unchanged, **self.logged}


def _is_metric_value(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _capture_part(name: str, value) -> str:
    return f"{name}_{value}"


def _discriminators(records: list[dict], skip: set) -> list[str]:
    """Fields (text or integer, in first-record order) whose values tell ``records``
    apart; empty when none do."""
    candidates = []
    for rec in records:
        for k, v in rec.items():
            if k in skip or k in candidates:
                continue
            if isinstance(v, str) or (isinstance(v, _INT_TYPES) and not isinstance(v, bool)):
                candidates.append(k)
    chosen: list[str] = []
    for k in candidates:
        values = [rec.get(k) for rec in records]
        if len(set(map(repr, values))) == 1:
            continue  # the same for all: tells nothing apart
        chosen.append(k)
        keys = {tuple(repr(rec.get(c)) for c in chosen) for rec in records}
        if len(keys) == len(records):
            return chosen
    return []


def metrics_from_records(groups) -> dict[str, float]:
    """``groups``: ``(parser_name, capture_names, records)`` per parsed file.

    Returns the unique metric names and values (see the module docstring)."""
    out: dict[str, float] = {}
    for parser_name, captures, records in groups:
        by_prefix: dict[tuple, list[dict]] = {}
        for rec in records:
            prefix = tuple(_capture_part(c, rec.get(c)) for c in captures if c in rec)
            by_prefix.setdefault(prefix, []).append(rec)
        for prefix, recs in by_prefix.items():
            skip = set(captures)
            extra = _discriminators(recs, skip) if len(recs) > 1 else []
            for i, rec in enumerate(recs):
                parts = list(prefix)
                if len(recs) > 1:
                    parts += ([_capture_part(d, rec.get(d)) for d in extra] if extra
                              else [f"record_{i}"])
                if not parts:
                    parts = [parser_name]
                for k, v in rec.items():
                    if k in skip or k in extra or not _is_metric_value(v):
                        continue
                    name = metric_name(parts + [str(k)])
                    if name in out and not _same(out[name], float(v)):
                        name = metric_name([parser_name] + parts + [str(k)])
                    out[name] = float(v)
    return out


def _same(a: float, b: float) -> bool:
    return stored_value(a) == stored_value(b)


def flatten_artifacts(run_id: str, *, parsers=None, tracking_uri: str | None = None,
                      plugin_manager=None, step: int = 0, client=None) -> FlattenResult:
    """Parse run ``run_id``'s artifacts with the registered parsers (or ``parsers``:
    names or :class:`~mlflow_sweep_plugin.Parser` objects) and log their numeric fields
    as metrics of the run. Bad artifacts become warnings on the result (naming run and
    path); the other files still count. Running it again logs nothing new. MLflow's
    HTTP calls fail fast meanwhile (:func:`~mlflow_sweep_plugin.failures.fail_fast_http`):
    a file the server cannot serve is a warning in seconds, not after minutes of retries.
    """
    with fail_fast_http():
        return _flatten_artifacts(run_id, parsers=parsers, tracking_uri=tracking_uri,
                                  plugin_manager=plugin_manager, step=step, client=client)


def _flatten_artifacts(run_id: str, *, parsers, tracking_uri, plugin_manager, step, client) -> FlattenResult:
    client = client or MlflowClient(tracking_uri)
    pm = plugin_manager or get_plugin_manager()
    if parsers is None:
        selected = pm.select_parsers(())
    else:
        names = [p for p in parsers if not isinstance(p, Parser)]
        selected = pm.select_parsers(names) if names else []
        selected += [p for p in parsers if isinstance(p, Parser)]
    run = client.get_run(run_id)
    result = FlattenResult(run_id=run_id)
    session = ReadSession(selected, tracking_uri=tracking_uri)
    try:  # one reader, so the run's artifacts are listed once for all the parsers
        reader = session.reader(run.info.artifact_uri)
    except Exception:  # noqa: BLE001 - each parser then reports it as usual
        reader = None
    groups = []
    for parser in selected:
        # one parser at a time, so each record's parser (its name, its captures) is known
        outcome = read_run(run, session, reader, parsers=[parser])
        for w in outcome.warnings:
            result.warnings.append(w)
            warn(w)
        groups.append((parser.name, outcome.captures, outcome.records))
    metrics = metrics_from_records(groups)
    existing = run.data.metrics
    new = []
    ts = now_ms()
    for name, value in metrics.items():
        if name in existing and _same(existing[name], value):
            result.unchanged[name] = value
        else:
            result.logged[name] = value
            new.append((name, value, ts, int(step)))
    if new:
        ClientSink(run_id, client).log_batch(metrics=new)
    return result

"""What each column of an export table is: run field, param, capture, record key, metric.

The export's table (README, "The table") is laid out as: the run fields (``run_id``,
``run_name``, ``experiment_name``, ``start_time``, ``end_time``, ``status``, ...), one
column per param (bare name, ``params.<name>`` on a collision), the run metrics
(``metrics.<key>``), any ``tags.<key>`` columns, then the records' columns (pattern
captures first, then the rest). The report reads the roles back from that layout:

- **run fields**: :data:`RUN_FIELDS` and ``tags.*``, wherever they are.
- **params**: every ``params.*`` column, and the columns between the run fields and the
  first ``metrics.*`` or ``tags.*`` column (or, without those, the first capture). With
  none of them, the leading text columns that are constant within every run (give
  ``params=`` to be exact).
- **captures**: the pattern captures (``layer``, ``learner``, ...) -- passed in by the
  caller, who knows the parsers' patterns (:func:`capture_names`).
- **record keys**: integer or text record columns that tell one run's records apart
  when the captures do not (the Hamming summary's ``seed`` and ``k``): they vary within a
  run, take no more values over the whole table than a run has records, and together
  make each record of a run unique (the same idea as ``flatten_artifacts`` naming).
- **echoes**: numeric record columns that repeat a param (``config.x_dim`` beside the
  param ``x_dim``); not metrics.
- **flattened**: run metrics that copy a record's field under its captures or keys
  (``metrics.layer_0.energy_contrast_ratio``, ``metrics.SVGD.eshd`` beside the record
  column ``eshd``, as ``flatten_artifacts`` and the loggers write them), and run metrics
  equal to a record column of the same name (``metrics.quantization_error``); not metrics.
- **metrics**: the remaining numeric (not boolean) columns.

Parsers may declare their fields' roles (``keys``, ``seed``, ``outcomes``,
``descriptors``: :mod:`mlflow_sweep_plugin.hookspecs`); ``declared`` roles win over the
rules above for the columns they name: declared keys are record keys, the declared seed
is :attr:`Roles.seed`, declared outcomes are metrics, and declared descriptors are
:attr:`Roles.descriptors` (neither grouped by nor summarised).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

#: run fields of the export table (``experiment_name`` and ``sweep_index`` in newer layouts)
RUN_FIELDS = ("run_id", "run_name", "experiment_name", "experiment_id", "sweep_index", "start_time",
              "end_time", "status")
TAG_PREFIX = "tags."
ROLE_COLUMN = "tags.mlflow_sweep.role"
SUPERSEDED_COLUMN = "tags.mlflow_sweep.superseded_by"
ERROR_COLUMN = "tags.mlflow_sweep.error"

_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::path)?\}")
_NUM = re.compile(r"(\d+)")
_AGG = re.compile(r"_(mean|std|min|max|median)$")  # a logged aggregate of a record field
_SEED = re.compile(r"^(seed|random_seed)$|\.seed$|^seed_", re.I)


def capture_names(patterns) -> list[str]:
    """The ``{name}`` captures of artifact path patterns, in first-seen order."""
    out: list[str] = []
    for pattern in patterns:
        for name in _CAPTURE.findall(str(pattern)):
            if name not in out:
                out.append(name)
    return out


def natural_key(name: str):
    """``cluster_2`` before ``cluster_10`` (the export's column order)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in _NUM.split(str(name)) if t]


def bare_name(column: str) -> str:
    """``params.seed`` -> ``seed`` (the name a param was logged under)."""
    return column[len("params."):] if column.startswith("params.") else column


def is_seed_name(column: str) -> bool:
    """``seed``, ``random_seed``, ``*.seed`` or ``seed_*`` (case-insensitive)."""
    return bool(_SEED.search(bare_name(column)))


def value_key(value):
    """Natural order for a factor's values: numbers (also numeric text) by value, then
    text naturally, missing last."""
    import pandas as pd

    if not isinstance(value, str) and pd.isna(value):
        return (2, 0.0, [])
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if not math.isnan(number):
                return (0, number, [])
    return (1, 0.0, natural_key(str(value)))


def is_numeric_factor(values) -> bool:
    """Every value reads as a finite number (params are logged as text)."""
    for v in values:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return False
        if not math.isfinite(x):
            return False
    return True


def describe_key(columns, values) -> str:
    """``sae_type=relu, layer=2`` for columns and their values (``(all runs)`` for none)."""
    return ", ".join(f"{c}={v}" for c, v in zip(columns, values)) or "(all runs)"


def group_label(row, by) -> str:
    """``sae_type=relu, layer=2``: a group's name in messages, tables and plots."""
    return describe_key([bare_name(c) for c in by], [row[c] for c in by])


@dataclass
class Roles:
    """The columns of a table by role (each list in table order)."""

    run_fields: list = field(default_factory=list)
    params: list = field(default_factory=list)
    captures: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    echoes: list = field(default_factory=list)
    flattened: list = field(default_factory=list)
    metrics: list = field(default_factory=list)
    descriptors: list = field(default_factory=list)
    seed: str | None = None  # the declared replicate column

    @property
    def factors(self) -> list:
        return self.params + self.captures + self.keys


def _is_text_column(series) -> bool:
    import pandas as pd

    if isinstance(series.dtype, pd.StringDtype):
        return bool(series.notna().any())
    if series.dtype != object:
        return False
    values = series.dropna()
    return bool(len(values)) and bool(values.map(type).eq(str).all())


def _is_numeric(series) -> bool:
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


def infer_params(df, captures=()) -> list[str]:
    """The param columns of an export table (see the module docstring)."""
    cols = [c for c in df.columns if c not in RUN_FIELDS]
    explicit = [c for c in cols if c.startswith("params.")]
    stop = next((i for i, c in enumerate(cols) if c.startswith(("metrics.", TAG_PREFIX))), None)
    if stop is None:
        stop = next((i for i, c in enumerate(cols) if c in captures), None)
    if stop is not None:
        block = cols[:stop]
    else:  # no metrics, tags or captures: the leading text columns constant within runs
        block = []
        per_run = df.groupby("run_id", sort=False, dropna=False) if "run_id" in df.columns else None
        for c in cols:
            if not _is_text_column(df[c]):
                break
            if per_run is not None and (per_run[c].nunique(dropna=False) > 1).any():
                break
            block.append(c)
    out = set(block) | set(explicit)
    return [c for c in cols if c in out]


def infer_keys(df, exclude: set, captures=()) -> list[str]:
    """Record columns that tell a run's records apart (beyond the captures)."""
    import pandas as pd

    if "run_id" not in df.columns or not len(df):
        return []
    base = ["run_id"] + [c for c in captures if c in df.columns]
    sizes = df.groupby(base, sort=False, dropna=False).size()
    if (sizes <= 1).all():
        return []
    max_records = int(sizes.max())
    multi = df.groupby(base, sort=False, dropna=False)["run_id"].transform("size") > 1
    sub = df[multi.to_numpy()]
    candidates = []
    for c in df.columns:
        if c in exclude or c.startswith(("metrics.", TAG_PREFIX)):
            continue
        s = sub[c]
        integer = pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        if not (integer or _is_text_column(s)):
            continue
        n_all = df[c].nunique(dropna=True)
        if n_all < 2 or n_all > max_records:
            continue
        if not (sub.groupby(base, sort=False, dropna=False)[c].nunique(dropna=False) > 1).any():
            continue
        candidates.append((not is_seed_name(c), not integer, n_all, natural_key(c), c))
    chosen: list[str] = []
    target = len(sub)
    current = sub.groupby(base, sort=False, dropna=False).ngroups
    for *_, c in sorted(candidates):
        n = sub.groupby(base + chosen + [c], sort=False, dropna=False).ngroups
        if n > current:
            chosen.append(c)
            current = n
            if current == target:
                return [c for c in df.columns if c in chosen]
    return []


def _numeric_values(series):
    import pandas as pd

    return pd.to_numeric(series, errors="coerce")


def infer_echoes(df, params, candidates) -> list[str]:
    """Numeric columns that repeat a param's value (``config.x_dim`` beside ``x_dim``)."""
    import numpy as np

    names = {bare_name(p): p for p in params}
    out = []
    for c in candidates:
        tail = [n for n in names if c == n or c.endswith("." + n)]
        for n in tail:
            a = _numeric_values(df[c]).to_numpy(dtype=float, na_value=np.nan)
            b = _numeric_values(df[names[n]]).to_numpy(dtype=float, na_value=np.nan)
            both = ~np.isnan(a) & ~np.isnan(b)
            if both.any() and np.array_equal(a[both], b[both]) and not (np.isnan(b) & ~np.isnan(a)).any():
                out.append(c)
                break
    return out


def _same_values(a, b) -> bool:
    """Equal wherever both are present (NaN equals NaN), and present together."""
    import numpy as np

    x = _numeric_values(a).to_numpy(dtype=float, na_value=np.nan)
    y = _numeric_values(b).to_numpy(dtype=float, na_value=np.nan)
    return bool(np.array_equal(x, y, equal_nan=True))


def infer_roles(df, params=None, captures=None, declared=None) -> Roles:
    """Every column's role; ``params`` / ``captures`` override the inference, and
    ``declared`` (``{"keys", "seed", "outcomes", "descriptors"}`` -> column names) names
    roles outright."""
    cols = list(df.columns)
    declared = {k: [c for c in (v or ()) if c in cols] for k, v in (declared or {}).items()}
    d_keys, d_out, d_desc = declared.get("keys", []), declared.get("outcomes", []), declared.get("descriptors", [])
    d_seed = (declared.get("seed") or [None])[0]
    captures = [c for c in (captures or ()) if c in cols and c not in d_desc]
    run_fields = [c for c in cols if c in RUN_FIELDS or c.startswith(TAG_PREFIX)]
    params = [c for c in (infer_params(df, captures) if params is None else params)
              if c in cols and c not in captures]
    taken = set(run_fields) | set(params) | set(captures) | set(d_desc) | set(d_out) | {d_seed}
    keys = [c for c in d_keys if c not in taken]
    taken |= set(keys)
    keys += [c for c in infer_keys(df, taken, captures) if c not in keys]
    keys = [c for c in cols if c in keys]
    taken |= set(keys)
    numeric = [c for c in cols if c not in taken and _is_numeric(df[c])]
    echoes = infer_echoes(df, params, [c for c in numeric if not c.startswith("metrics.")])
    record_metrics = {c for c in numeric + d_out + d_desc if not c.startswith("metrics.") and c not in echoes}
    flattened = [c for c in numeric if c.startswith("metrics.") and (
        ("." in c[len("metrics."):] and _AGG.sub("", c.rsplit(".", 1)[1]) in record_metrics)
        or (c[len("metrics."):] in record_metrics and _same_values(df[c], df[c[len("metrics."):]])))]
    metrics = [c for c in cols if (c in numeric and c not in echoes and c not in flattened)
               or (c in d_out and _is_numeric(df[c]))]
    return Roles(run_fields=run_fields, params=params, captures=captures, keys=keys,
                 echoes=echoes, flattened=flattened, metrics=metrics, descriptors=d_desc,
                 seed=d_seed)

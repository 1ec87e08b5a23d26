"""Where a report's table comes from: the export (its public ``export_sweep``), plus what
the export table does not carry: the parsers' pattern captures. Which runs are sweep
parents or superseded retries and the metric histories come from the export itself (its
``tags`` and ``history``), so a report costs what its export costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tags import ROLE_PARENT, TAG_ERROR, TAG_GRID, TAG_ROLE, TAG_SUPERSEDED
from ..warning_types import TellOnce
from .columns import ERROR_COLUMN, ROLE_COLUMN, SUPERSEDED_COLUMN, capture_names
from .race import PARENT_COLUMN, STAGE_COLUMN, SWEEP_COLUMN, TRIAL_COLUMN
from .race import TAGS as RACE_TAGS
from .race import read_sweep, sweep_parent


@dataclass
class Source:
    """The table a report is built from, and where it came from."""

    df: object
    captures: list
    tracking_uri: str
    experiments: list = field(default_factory=list)  # names, for the report's title
    filter_string: str = ""
    parser_names: tuple = ()
    artifact_patterns: tuple = ()
    n_export_warnings: int = 0
    #: the roles the parsers declare (:func:`declared_roles`)
    declared: dict = field(default_factory=dict)
    #: runs the export itself left out (newer exports drop superseded retries and sweep
    #: parents without a record before building the table)
    left_out: int = 0
    #: the ``--history`` (metric, aggregate) pairs (their metrics' learning curves are drawn by default)
    history_specs: list = field(default_factory=list)
    #: how histories are read (the export's cache options)
    cache: bool = True
    refresh: bool = False
    #: the grids the sweeps recorded (their parents' ``mlflow_sweep.grid`` tags, JSON): level order
    grids: list = field(default_factory=list)
    #: the sweep's parent when the runs are one sweep's children (:func:`.race.read_sweep`)
    sweep: dict | None = None

    def histories(self, run_ids, keys) -> dict:
        """``{(run_id, key): [(step, value), ...]}`` for these runs of the table: read as
        ``--history`` reads them (:func:`~mlflow_sweep_plugin.export.history.fetch_points`,
        the same cache)."""
        from mlflow.tracking import MlflowClient

        from ..export.history import fetch_points

        runs = self.df[self.df["run_id"].isin(set(run_ids))]
        if not len(runs) or not keys:
            return {}
        return fetch_points(MlflowClient(tracking_uri=self.tracking_uri), runs, list(keys),
                            tracking_uri=self.tracking_uri, cache=self.cache, refresh=self.refresh)


def export_table(**options):
    """``export_sweep(write=False, **options)``; its warnings go down the one warning
    channel exactly once (whether the export emits them itself or only returns them)."""
    from ..export import export_sweep

    scope = TellOnce()
    with scope.catching():
        result = export_sweep(write=False, **options)
    for w in getattr(result, "warnings", None) or ():
        scope.tell(w)
    return result, len(scope.told)


def _selected_parsers(parser_names=()) -> list:
    try:
        from ..plugins import get_plugin_manager

        return get_plugin_manager().select_parsers(list(parser_names) or None)
    except Exception:  # noqa: BLE001 - the export reported any problem already
        return []


def parser_captures(parser_names=(), artifact_patterns=(), df=None) -> list[str]:
    """The capture names of the parsers an export with these options uses: those of the
    patterns that matched a file of the exported runs when the table says (its
    ``attrs["captures"]``), else every selected pattern's."""
    if df is not None and "captures" in getattr(df, "attrs", {}):
        return list(df.attrs["captures"])
    patterns = [p.pattern for p in _selected_parsers(parser_names)]
    return capture_names(list(patterns) + list(artifact_patterns or ()))


def declared_roles(parser_names=(), df=None) -> dict:
    """``{"keys": [...], "seed": [...], "outcomes": [...], "descriptors": [...]}``: the
    roles the selected parsers declare for fields that are columns of ``df`` (the first
    parser naming a field decides its role)."""
    out: dict = {"keys": [], "seed": [], "outcomes": [], "descriptors": []}
    columns = set(df.columns) if df is not None else None
    taken: set = set()
    for parser in _selected_parsers(parser_names):
        named = [("keys", k) for k in parser.keys] + [("seed", parser.seed)] * bool(parser.seed) + \
            [("outcomes", o) for o in parser.outcomes] + [("descriptors", d) for d in parser.descriptors]
        for role, name in named:
            if name in taken or (columns is not None and name not in columns):
                continue
            taken.add(name)
            out[role].append(name)
    return out


def sweep_grids(tracking_uri: str, df) -> list[str]:
    """The ``mlflow_sweep.grid`` tags of the sweep parents in the table's experiments (one
    search; the grid only orders plot levels, so a failure here costs nothing but that)."""
    if "experiment_id" not in df.columns or not len(df):
        return []
    try:
        from mlflow.tracking import MlflowClient

        ids = [str(e) for e in df["experiment_id"].dropna().unique()]
        runs = MlflowClient(tracking_uri=tracking_uri).search_runs(
            ids, filter_string=f"tags.`{TAG_ROLE}` = '{ROLE_PARENT}'", max_results=200)
    except Exception:  # noqa: BLE001 - the sweep's first-appearance order is used then
        return []
    return [r.data.tags[TAG_GRID] for r in runs if TAG_GRID in r.data.tags]


def drop_empty_tag_columns(df):
    """The role and superseded columns only when some run has them (what a report shows
    as run fields)."""
    empty = [c for c in (ROLE_COLUMN, SUPERSEDED_COLUMN, ERROR_COLUMN, STAGE_COLUMN, PARENT_COLUMN, SWEEP_COLUMN,
                                  TRIAL_COLUMN)
             if c in df.columns and not df[c].notna().any()]
    return df.drop(columns=empty) if empty else df


def load(*, experiment_names=(), experiment_ids=(), tracking_uri=None, filter_string="",
         parser_names=(), artifact_patterns=(), cache=True, refresh=False, history=(),
         trust_ended_runs=False, max_artifact_bytes=None, max_columns=None) -> Source:
    """The export's table of the selected runs, with the sweep role and superseded tags
    (the export's ``tags``) and ``history`` (``KEY:AGG`` specs, the export's ``history``)."""
    from ..export.history import parse_history_specs
    from ..uri import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    result, n_warnings = export_table(
        experiment_names=tuple(experiment_names), experiment_ids=tuple(experiment_ids),
        tracking_uri=uri, filter_string=filter_string or "", parser_names=tuple(parser_names),
        artifact_patterns=tuple(artifact_patterns), cache=cache, refresh=refresh,
        tags=(TAG_ROLE, TAG_SUPERSEDED, TAG_ERROR, *RACE_TAGS), history=tuple(history), trust_ended_runs=trust_ended_runs,
        max_artifact_bytes=max_artifact_bytes, max_columns=max_columns)
    names = list(experiment_names) + [f"id {i}" for i in experiment_ids]
    parent = sweep_parent(result.df)
    df = drop_empty_tag_columns(result.df)
    return Source(df=df, captures=parser_captures(parser_names, artifact_patterns, result.df),
                  declared=declared_roles(parser_names, df),
                  tracking_uri=uri, experiments=names,
                  filter_string=filter_string or "", parser_names=tuple(parser_names),
                  artifact_patterns=tuple(artifact_patterns), n_export_warnings=n_warnings,
                  left_out=int((getattr(result, "stats", None) or {}).get("left_out", 0) or 0),
                  history_specs=parse_history_specs(history),
                  cache=cache, refresh=refresh, grids=sweep_grids(uri, result.df),
                  sweep=read_sweep(uri, parent) if parent else None)

"""The report's options (``mlflow-sweep report``'s flags as one dataclass) and their
checks, made before any work: a bad option writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UsageError
from .best import MODES
from .levels import SCALES
from .plots import BANDS


@dataclass
class ReportOptions:
    """What to report (the ``mlflow-sweep report`` options)."""

    objective: str | None = None
    mode: str = "min"
    over: object = None  # None: the seed column; False: none; or a column name
    by: list | None = None
    metrics: list | None = None
    band: str = "std"
    plot: tuple = ()
    include_failed: bool = False
    max_plots: int = 12
    alpha: float = 0.05
    title: str | None = None
    #: column -> the name tables and plots show (``--label COLUMN=TEXT``)
    labels: dict = field(default_factory=dict)
    #: record fields to group by / to neither group by nor summarise (``--key`` / ``--descriptor``)
    keys: list = field(default_factory=list)
    descriptors: list = field(default_factory=list)
    #: the metrics of summary.tex (``--table-metrics``); default: those that fit a column
    table_metrics: list | None = None
    #: text cells a spreadsheet would run as formulas get a leading ``'`` (summary.csv)
    spreadsheet_safe: bool = False
    #: factor -> its levels in order (``--order FACTOR=a,b,c``); factor -> levels/linear/log (``--scale``)
    order: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)
    #: more metrics with learning curves (``--curves``); none at all (``--no-curves``)
    curves: list = field(default_factory=list)
    no_curves: bool = False
    #: what could not be summarised is told in the report only, not as warnings (the
    #: automatic report on a sweep's parent, where nobody asked for a ranking)
    quiet: bool = False


def check_options(options: ReportOptions) -> None:
    """Raise :class:`UsageError` for a mode, band, alpha, curves or scale the report cannot use."""
    if options.mode not in MODES:
        raise UsageError(f"--mode must be min or max, not {options.mode!r}")
    if options.band not in BANDS:
        raise UsageError(f"--band must be one of {', '.join(BANDS)}, not {options.band!r}")
    if not 0 < float(options.alpha) < 1:
        raise UsageError("alpha must be between 0 and 1")
    if options.curves and options.no_curves:
        raise UsageError("--curves and --no-curves do not go together")
    for factor, scale in (options.scales or {}).items():
        if scale not in SCALES:
            raise UsageError(f"--scale {factor}={scale}: use one of {', '.join(SCALES)}")

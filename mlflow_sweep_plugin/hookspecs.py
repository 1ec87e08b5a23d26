"""The hooks a mlflow-sweep plugin can implement.

This module is the plugin author's reference: every hook's docstring says when it is
called, what it receives and what it must return. A plugin is any module or object
with functions marked ``@hookimpl`` and named like the specs below; it is installed by
a setuptools entry point in the ``mlflow_sweep`` group::

    [options.entry_points]
    mlflow_sweep =
        my_project = my_project_sweep.plugin

and is then found by ``mlflow-sweep export``, ``mlflow sweep-export``,
``mlflow-sweep plugins`` and the pytest fixtures without further configuration.

All hooks share the prefix ``sweep_``; the pluggy project name is ``mlflow_sweep``.
Hook functions may declare only the arguments they use (pluggy passes by name).

Every hook receives one ``register`` callback, typed by a :class:`typing.Protocol` below
(as tox's ``ToxEnvRegister``), so a plugin's hook can be checked by a type checker::

    from mlflow_sweep_plugin.hookspecs import ParserRegister, hookimpl

    @hookimpl
    def sweep_register_parsers(register: ParserRegister) -> None:
        register("scores", "eval/{split}/scores.json", parse_scores, version="1")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

import pluggy

if TYPE_CHECKING:
    from .parsers import ParseContext

PROJECT_NAME = "mlflow_sweep"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class ParserRegister(Protocol):
    """``register`` of :func:`sweep_register_parsers`: one call per parser (the arguments
    are described there). A second parser of the same ``name`` replaces the first, with
    a warning."""

    def __call__(self, name: str, pattern: str,
                 parse: Callable[[Any, ParseContext], Iterable[Mapping[str, Any]]], *,
                 version: str | int = "1", loader: str | Callable[[bytes], Any] | None = None,
                 description: str = "", keys: Sequence[str] = (), seed: str | None = None,
                 outcomes: Sequence[str] = (), descriptors: Sequence[str] = ()) -> None: ...


class DemoRegister(Protocol):
    """``register`` of :func:`sweep_register_demos`: one call per demo sweep (the name and
    the function are passed by position)."""

    def __call__(self, name: str, log_sweep: Callable[[str, int, int], None], /, *,
                 description: str = "", report: Mapping[str, Any] | None = None) -> None: ...


class LoggerRegister(Protocol):
    """``register`` of :func:`sweep_register_loggers`: one call per kind of result (the
    kind and ``log(result, run, **options)`` are passed by position)."""

    def __call__(self, kind: str, log: Callable[..., Any], /, *, description: str = "") -> None: ...


@hookspec
def sweep_register_parsers(register: ParserRegister) -> None:
    """Register the artifact parsers this plugin provides.

    Called once per plugin manager, when the parsers are first needed. Call
    ``register`` (a :class:`ParserRegister`) once per parser::

        register(name, pattern, parse, *, version="1", loader=None, description="",
                 keys=(), seed=None, outcomes=(), descriptors=())

    - ``name``: unique parser name, used by ``--parser NAME`` and shown by
      ``mlflow-sweep plugins``.
    - ``pattern``: an artifact path relative to the run's artifact root, with named
      captures in braces, e.g. ``layer_{layer}/cluster_summary.json``. A capture matches
      one path segment (no ``/``); ``{name:path}`` matches one or more segments. ``*``
      matches within a segment. Every artifact of a run whose path matches is parsed;
      the captured values become columns of each record (numeric ones as numbers).
    - ``parse``: ``parse(content, ctx) -> iterable of dict``. ``content`` is the file
      loaded by ``loader``; ``ctx`` is a :class:`mlflow_sweep_plugin.parsers.ParseContext`
      with ``run_id``, ``path``, ``captures``, ``params``, ``list()`` and ``read(path)``
      (raw bytes of another artifact of the same run, for parsers that combine files).
      Each yielded dict is one row of the export table; nested values are not allowed
      (lists and dicts are written as JSON strings). Raise
      :class:`mlflow_sweep_plugin.BadArtifact` (or any exception) for malformed input:
      the file then yields no row and a warning naming the run and the path is shown.
      :mod:`mlflow_sweep_plugin.parsers.checks` has the usual checks (``number``,
      ``integer``, ``text``, ``mapping``, ``section``), raising it with the reason.
    - ``version``: bump it when the parser's output changes, so cached rows are re-read.
    - ``loader``: ``"json"`` (bare ``NaN``/``Infinity`` accepted), ``"yaml"`` (safe
      loader), ``"npz"`` (``numpy.load`` with ``allow_pickle=False``), ``"text"``,
      ``"bytes"`` or a callable ``bytes -> object``. Default: chosen by file extension.
    - the **roles** of the record fields, for ``mlflow-sweep report`` (every one optional;
      a field not named keeps the report's heuristics, documented in ``docs/explanation/best-set.md``):

      - ``keys``: fields that tell one run's records apart, or runs apart (``k``,
        ``layer``, ``learner``): the report groups by those that vary. A pattern's
        captures are keys already (when the parser matched a file of the report's runs).
      - ``seed``: the replicate field (``seed``): averaged over, the unit of every
        statistic and the pairing of the best-set comparisons.
      - ``outcomes``: the fields summarised (means, spreads, plots, the objective).
      - ``descriptors``: fields that describe one execution (``feature_idx``,
        ``cluster_sizes``, ``converged``): kept in the export, neither grouped by nor
        summarised nor plotted by default (``--metric NAME`` still summarises one).
    """


@hookspec
def sweep_register_demos(register: DemoRegister) -> None:
    """Register demo sweeps for ``mlflow-sweep demo``.

    Call ``register(name, log_sweep, *, description="", report=None)`` (a :class:`DemoRegister`) where
    ``log_sweep(experiment_name: str, n_runs: int, seed: int) -> None`` logs a small,
    realistic sweep of this plugin's kind into the current tracking store (the
    tracking URI is already set). ``mlflow-sweep demo --kind NAME`` runs it and exports
    the experiment, so a newcomer sees the whole pipeline on the embedded default store.
    ``report``: the report's options for this sweep (``objective``, ``mode``), so its
    report ranks configurations. ``demo`` without ``--kind`` runs ``sae`` when it is
    registered, else ``clustering``, else the first.
    """


@hookspec
def sweep_register_loggers(register: LoggerRegister) -> None:
    """Register how this plugin's kind of result is logged to MLflow.

    Call ``register(kind, log, *, description="")`` (a :class:`LoggerRegister`) once per
    kind of result. Research code then calls :func:`mlflow_sweep_plugin.log_result`
    ``(kind, result, run_id=None, **options)``, which calls ``log(result, run, **options)``
    with:

    - ``result``: whatever the job produced (a dict such as ``som_results.json``'s
      content, a results directory, an analyzer object; the plugin decides);
    - ``run``: a :class:`mlflow_sweep_plugin.tracking.results.ResultLogger` bound to
      the target run, with ``log_config``, ``log_params``, ``log_metrics``,
      ``set_tags``, ``log_artifact``, ``log_text``, ``log_dict``,
      ``log_artifacts_by_type`` and ``log_artifacts_selectively`` (the logging API:
      batched, keys escaped, no-op on repeat, and spooled to disk when the tracking
      server is unreachable inside :func:`~mlflow_sweep_plugin.sweep_run`);
    - ``options``: the keyword arguments given to ``log_result``.

    ``log``'s return value is returned by ``log_result``. Log what makes runs of this
    kind comparable in the MLflow UI (headline metrics, learner-prefixed metrics,
    artifacts sorted into ``models/``, ``visualizations/``, ``results/``), and write
    the summary files your parsers read, so that export and logging agree. A second
    plugin registering the same ``kind`` replaces the first, with a warning.
    """

"""Find the experiments and page through their runs."""

from __future__ import annotations

import difflib
from typing import Iterator

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from ..errors import UnknownExperiment, UsageError
from ..failures import is_unreachable, store_errors
from ..uri import redact_uri

RUN_VIEWS = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
PAGE_SIZE = 1000


def resolve_experiments(client, tracking_uri: str, names=(), ids=()) -> list:
    """Experiment objects for the given names and ids; unknown ones raise
    :class:`UnknownExperiment` listing similar names."""
    if not names and not ids:
        raise UsageError("give --experiment-name NAME or --experiment-id ID")
    found, missing = [], []
    with store_errors(tracking_uri):
        for name in names:
            exp = client.get_experiment_by_name(name)
            (found.append(exp) if exp is not None else missing.append(name))
        for exp_id in ids:
            try:
                found.append(client.get_experiment(str(exp_id)))
            except MlflowException as exc:
                if is_unreachable(exc):
                    raise
                missing.append(str(exp_id))
    if missing:
        try:
            known = [e.name for e in client.search_experiments(view_type=_view("all"))]
        except Exception:  # noqa: BLE001 - the suggestion is a courtesy
            known = []
        hints = []
        for name in missing:
            hints += difflib.get_close_matches(name, known, n=5, cutoff=0.4)
        msg = f"unknown experiment(s): {', '.join(missing)} at {redact_uri(tracking_uri)}"
        if hints:
            msg += f"; similar names: {', '.join(dict.fromkeys(hints))}"
        elif known:
            msg += f"; existing: {', '.join(sorted(known)[:10])}"
        raise UnknownExperiment(msg)
    return found


def _view(run_view: str):
    try:
        return getattr(ViewType, RUN_VIEWS[run_view])
    except KeyError:
        raise UsageError(f"--run-view must be one of {', '.join(RUN_VIEWS)}") from None


def iter_runs(client, experiment_ids, filter_string: str = "", run_view: str = "active",
              page_size: int = PAGE_SIZE, tracking_uri: str = "", on_page=None) -> Iterator:
    """Every run matching the filter, page by page (any number of runs).

    Ordered by start time then run id so that the table's row order is stable.
    ``on_page(n_found, last)`` is called after each page (for a progress bar's total).
    """
    token = None
    found = 0
    view = _view(run_view)
    while True:
        with store_errors(tracking_uri):
            try:
                page = client.search_runs(
                    [str(i) for i in experiment_ids], filter_string=filter_string or "",
                    run_view_type=view, max_results=page_size,
                    order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
                    page_token=token,
                )
            except MlflowException as exc:
                # a filter MLflow cannot parse: INVALID_PARAMETER_VALUE (any message)
                if filter_string and not is_unreachable(exc) and (
                        getattr(exc, "error_code", "") == "INVALID_PARAMETER_VALUE"
                        or "filter" in str(exc).lower()):
                    raise UsageError(f"invalid --filter {filter_string!r}: {exc.message}") from None
                raise
        token = page.token
        found += len(page)
        if on_page is not None:
            on_page(found, not token)
        yield from page
        if not token:
            return

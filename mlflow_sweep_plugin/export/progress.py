"""The export's progress bar: runs done, rate and ETA, on stderr, only for a terminal.

Why a separate object: the exporter only calls ``progress(n_done)`` and
``progress.found(n_found, last)``; whether anything is drawn (a terminal, not ``-q``)
is decided here, and warnings are printed through it so they scroll above the bar
instead of tearing it. When disabled it costs nothing and prints exactly what a plain
``click.echo(..., err=True)`` would.
"""

from __future__ import annotations

import sys

import click

from ..console import visible


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ExportProgress:
    """A context manager; call it with the number of runs done."""

    def __init__(self, enabled: bool, description: str = "exporting runs"):
        self.enabled = enabled
        self.description = description
        self._progress = None
        self._task = None
        self._total: int | None = None
        self._last_page = False

    def __enter__(self) -> "ExportProgress":
        if not self.enabled:
            return self
        # rich (heavy) only when a progress bar is shown
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                return Text("" if speed is None else f"{speed:,.1f} runs/s")

        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("runs"), RateColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(),
            console=Console(file=sys.stderr, stderr=True), transient=True, refresh_per_second=8,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def found(self, n_found: int, last: bool) -> None:
        """How many runs the search has returned so far (``last``: that is all of them)."""
        self._total = n_found
        self._last_page = last
        if self._progress is not None:
            self._progress.update(self._task, total=n_found)

    def __call__(self, n_done: int) -> None:
        if self._progress is not None:
            total = self._total if self._total is None or n_done <= self._total else n_done
            self._progress.update(self._task, completed=n_done, total=total)

    def echo(self, message: str) -> None:
        """A line on stderr, above the bar when there is one."""
        message = visible(message)
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(message, err=True)

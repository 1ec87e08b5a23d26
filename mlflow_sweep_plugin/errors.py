"""One exception type per kind of failure a user can act on.

The CLI maps each to its documented exit code in one place (``cli.py``), so a new
failure mode gets a code by subclassing, not by another ``sys.exit`` somewhere.
"""

from __future__ import annotations

import difflib


class SweepError(Exception):
    """Base class: an error the user can act on, with the CLI's exit code."""

    exit_code = 2


class UsageError(SweepError):
    """Options that do not make sense together, or a bad value."""

    exit_code = 2


class UnknownExperiment(SweepError):
    """No experiment has the given name or id (the message lists similar names)."""

    exit_code = 2


class TrackingUnreachable(SweepError):
    """The tracking store or artifact store could not be reached.

    The message shows the URI with any credentials removed.
    """

    exit_code = 3


class NoTrackingStore(SweepError):
    """A command that reads a store was pointed at one that is not there: a sqlite file
    that does not exist or is not an MLflow database, a missing store directory. Nothing
    was created (see :mod:`mlflow_sweep_plugin.stores`).

    The message shows the URI with any credentials removed.
    """

    exit_code = 3


class SearchSpecError(ValueError):
    """A sweep's search config is unusable; the message names the key and the allowed values
    (raised before any run or parent is created)."""


class BadArtifact(Exception):
    """Raised by a parser for a malformed artifact.

    The exporter turns it into one warning naming the run and the artifact path;
    the file yields no row and the export goes on.
    """


def did_you_mean(name, choices) -> str:
    """``"; did you mean a, b?"``: up to three of ``choices`` close to ``name`` (a usage
    error's hint), or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""

"""Where the commands talk to the user: the one place that prints warnings and errors.

The library sends warnings through :mod:`warnings` (:mod:`.warning_types`); a command
(``mlflow-sweep ...``, ``mlflow sweep-export``, the sweep backend and the Hydra
callback, which are MLflow's and Hydra's commands running our code) wraps its work in
:func:`printing_warnings` so each is one ``mlflow-sweep: warning: ...`` line on stderr,
and counted for ``--strict``. Errors a user can act on are mapped to exit codes by
:func:`sweep_errors`. Everything printed goes through :func:`visible` (terminal control
characters in run names and values are shown, never acted on).
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
import warnings

import click

from .errors import SweepError
from .uri import redact_text
from .warning_types import SweepWarning

PREFIX = "mlflow-sweep: "


#: what a terminal would act on rather than show: C0 and C1 controls and DEL (ESC
#: sequences clear the screen or set the title, CR overwrites the line), and the
#: Unicode bidi controls that reorder what is shown
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def visible(text, newlines: bool = True) -> str:
    """``text`` as printed by every command: terminal control characters made visible
    (``\\x1b``, ``\\r``, ``\\u202e``; tabs stay), so a run name or value cannot move the
    cursor, clear the screen or retitle the terminal. ``newlines``: keep line breaks (a
    traceback); else they become ``\\n`` too (one line holding values)."""
    return (_CONTROL_BUT_NEWLINE if newlines else _CONTROL).sub(_escape, str(text))


def eprint(message: str, newlines: bool = True) -> None:
    """A line on stderr, flushed (the backend's children write there too); URI
    credentials in it masked, control characters made visible (:func:`visible`; with
    ``newlines=False`` one line whatever the message holds)."""
    message = visible(redact_text(message).rstrip("\n"), newlines)
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def echo(message: str, err: bool = False) -> None:
    """:func:`click.echo` of ``message`` made visible (:func:`visible`): output on stdout."""
    click.echo(visible(message), err=err)


def say(message: str) -> None:
    """A status line of a command: ``mlflow-sweep: <message>``, one line."""
    eprint(PREFIX + message, newlines=False)


@contextlib.contextmanager
def printing_warnings(echo=None, collected: list | None = None):
    """Inside: every :class:`SweepWarning` is printed as it happens (through ``echo``,
    default :func:`eprint`) and appended to ``collected``; other warnings keep
    Python's own handling. Restores the warning filters and hook after."""
    echo = echo or eprint
    with warnings.catch_warnings():
        warnings.simplefilter("always", SweepWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if isinstance(message, SweepWarning):
                text = redact_text(str(message))
                text = text[len(PREFIX):] if text.startswith(PREFIX) else text
                echo(f"{PREFIX}warning: {visible(text, newlines=False)}")
                if collected is not None:
                    collected.append(message)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield collected


#: the exit code of a command stopped with Ctrl-C (SIGINT): 128 + 2, as shells report it
INTERRUPTED = 130
#: the exit code of an error no one foresaw (a bug, or a store's error we do not classify)
UNEXPECTED = 4


def exit_interrupted():
    """Ctrl-C: one line, no traceback, exit 130 (not 1, which is ``--strict``'s)."""
    eprint(f"{PREFIX}interrupted")
    sys.exit(INTERRUPTED)


@contextlib.contextmanager
def sweep_errors():
    """Map :class:`SweepError` subclasses to their exit codes, in one place (and Ctrl-C
    to 130). Anything else is exit 4 with its traceback, credentials masked: Python's
    own traceback would print MLflow's exception texts as they are, tracking URIs with
    their passwords included."""
    try:
        yield
    except SweepError as exc:
        eprint(f"{PREFIX}error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        exit_interrupted()
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise  # click's own usage errors and exits: click tells them
    except Exception as exc:  # noqa: BLE001 - told, masked, then the documented exit code
        eprint("".join(traceback.format_exception(exc)).rstrip("\n"))
        eprint(f"{PREFIX}error: unexpected {type(exc).__name__} (the traceback above; "
               f"please report it): {exc}")
        sys.exit(UNEXPECTED)

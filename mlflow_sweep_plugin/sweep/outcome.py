"""How a child's end is recorded: its error line, exit code and the tails of its output.

One function writes ``mlflow_sweep.error`` for every front-end (:func:`record_failure`),
so the text is always credential-free and bounded the same way.
"""

from __future__ import annotations

import os
import tempfile

from mlflow.entities import RunTag

from ..tags import TAG_ERROR, TAG_EXIT_CODE
from ..uri import redact_text

MAX_ERROR_CHARS = 5000
_TRACEBACK = "Traceback (most recent call last):"
_MLFLOW_FOOTERS = ("\U0001f3c3 View run", "\U0001f9ea View experiment")  # printed as runs end


def error_text(text) -> str:
    """An error as stored in ``mlflow_sweep.error``: credentials masked, bounded."""
    return redact_text(str(text))[:MAX_ERROR_CHARS]


def traceback_error(lines) -> tuple[str | None, int]:
    """The exception line of the last Python traceback in ``lines`` (``ValueError: bad
    lr``) and its index, or ``(None, -1)`` when there is no traceback."""
    lines = list(lines)
    starts = [i for i, line in enumerate(lines) if line.rstrip().endswith(_TRACEBACK)]
    if not starts:
        return None, -1
    for i in range(starts[-1] + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line[:1].isspace():
            return line.strip(), i
    return None, -1


def error_line(lines) -> str | None:
    """The last line of an error in a child's output: the exception line of its last
    Python traceback, else its last line (not MLflow's "View run" footers)."""
    lines = list(lines)
    error, _ = traceback_error(lines)
    if error:
        return error
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(_MLFLOW_FOOTERS):
            return text
    return None


def record_failure(client, run_id: str, *, error: str | None = None, exit_code=None,
                   out_lines=None, err_lines=None, keep_error: bool = False) -> None:
    """Why a child failed, on its run: ``mlflow_sweep.error`` (``error``, else the error
    line of its stderr, then stdout, else its exit code), ``mlflow_sweep.exit_code``, and
    the last lines of its output as ``logs/stderr.txt`` / ``logs/stdout.txt``.
    ``keep_error``: an error tag already on the run (e.g. "could not start") stays."""
    tags = {}
    if exit_code is not None:
        tags[TAG_EXIT_CODE] = str(exit_code)
    if not (keep_error and TAG_ERROR in client.get_run(run_id).data.tags):
        error = error or error_line(err_lines or ()) or error_line(out_lines or ())
        if not error and (out_lines is not None or err_lines is not None or exit_code is not None):
            error = (f"exit code {exit_code}" if exit_code not in (None, 0)
                     else "the job ended its run FAILED")
        if error:
            tags[TAG_ERROR] = error_text(error)
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    if out_lines is None and err_lines is None:
        return
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-logs-") as tmp:
        for name, lines in (("stderr.txt", err_lines or []), ("stdout.txt", out_lines or [])):
            if not lines and name == "stdout.txt":
                continue
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("".join(redact_text(line) + "\n" for line in lines))
            client.log_artifact(run_id, path, "logs")

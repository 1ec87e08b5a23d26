"""The one reader of a file's last lines (a job's log, submitit's stdout/stderr): reads
at most the last 256 KiB, whatever the file's size, and never fails."""

from __future__ import annotations

import os

TAIL_BYTES = 256 * 1024


def tail_lines(path: str, n: int | None = None, max_bytes: int = TAIL_BYTES) -> list[str]:
    """The last lines of ``path`` (the last ``n`` when given); ``[]`` when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - max_bytes))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    return lines[-n:] if n else lines

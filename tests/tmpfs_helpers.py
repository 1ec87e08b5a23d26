"""A real small or read-only file system for tests of writing errors (needs root and
``mount``; the test skips, saying so, where they are not there)."""

from __future__ import annotations

import contextlib
import subprocess

import pytest


def _mount(*args) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(path, options: str):
    """A tmpfs mounted at ``path`` with ``options`` (``ro,size=1m``, ``size=64k``)."""
    path.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", options, "tmpfs", str(path))
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({type(exc).__name__}): needs root and mount")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=30)


def remount_read_only(path) -> None:
    _mount("-o", "remount,ro", str(path))

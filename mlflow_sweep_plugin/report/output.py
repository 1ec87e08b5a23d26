"""The report's output directory: what it may write there, and nothing else.

The rule (``docs/how-to/troubleshooting.md``): ``-o DIR`` must be **new, empty, or an earlier
report's directory** holding only the files that report wrote. Anything else (``-o .``
in a directory holding the store, a ``report/`` with notes in it) is refused, exit 2,
naming a few of the files, and nothing is written.

An earlier report is recognised by its manifest, ``.mlflow-sweep-report.json``, which
lists the files it wrote (relative paths, checked to stay inside the directory). A new
report replaces them: its files are moved into place, the earlier report's files that
the new one does not write are removed, and the manifest is rewritten. No other file is
ever changed or deleted, and nothing outside the directory is read or written (links
are never followed: a link is an entry like any file).

Writing errors (a read-only file system, a full disk, a file where the directory
should be) are :class:`~mlflow_sweep_plugin.errors.UsageError` (exit 2), one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import tempfile

from ..errors import UsageError

MANIFEST = ".mlflow-sweep-report.json"
STAGE_PREFIX = ".mlflow-sweep-report-stage-"
#: foreign entries named in a refusal
_SHOWN = 3
_MAX_MANIFEST_BYTES = 1 << 20


def _safe_relative(path) -> bool:
    """A relative POSIX path that stays inside its directory."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    norm = posixpath.normpath(path)
    return norm == path and norm not in (".", "..") and not norm.startswith("../")


def read_manifest(output_dir: str) -> set | None:
    """The files an earlier report listed in ``output_dir``'s manifest; None when there
    is no usable manifest (missing, a link, too large, malformed or naming a path
    outside the directory)."""
    path = os.path.join(output_dir, MANIFEST)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        import stat

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_MANIFEST_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = json.loads(fh.read(_MAX_MANIFEST_BYTES + 1))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(_safe_relative(f) for f in files):
        return None
    return set(files)


def _entries(directory: str, prefix: str = ""):
    """Every file-like entry under ``directory`` (relative POSIX paths), lazily, never
    following a link; directories are not entries, but empty ones are (``name/``)."""
    try:
        scan = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        yield prefix or "./"
        return
    for entry in scan:
        rel = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            empty = True
            for inner in _entries(entry.path, rel + "/"):
                empty = False
                yield inner
            if empty:
                yield rel + "/"
        else:
            yield rel


def check_output_dir(output_dir: str) -> set:
    """Refuse an output directory holding files no earlier report wrote (module
    docstring); returns the earlier report's files (empty for a new or empty one)."""
    if os.path.lexists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"-o {output_dir}: a file of that name is there; the report is a directory "
                         "(choose another -o)")
    if not os.path.isdir(output_dir):
        return set()
    earlier = read_manifest(output_dir) or set()
    allowed = earlier | {MANIFEST}
    foreign = []
    for rel in _entries(output_dir):
        if rel in allowed:
            continue
        foreign.append(rel)
        if len(foreign) > _SHOWN:
            break
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (" and more" if len(foreign) > _SHOWN else "")
        raise UsageError(
            f"-o {output_dir} holds files this command did not write ({shown}): a report is written "
            "only into a new or empty directory, or over an earlier report; choose another -o")
    return earlier


def staged_files(stage: str) -> list:
    """The files a build wrote into its staging directory, as relative paths."""
    return [rel for rel in _entries(stage) if not rel.endswith("/")]


def _write_manifest(output_dir: str, files) -> None:
    fd, tmp = tempfile.mkstemp(prefix=STAGE_PREFIX, suffix=".json", dir=output_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"files": sorted(files)}, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, os.path.join(output_dir, MANIFEST))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def move_into_place(stage: str, output_dir: str, earlier: set) -> list:
    """Move the staged files into ``output_dir``; remove the earlier report's files the
    new one does not write. The manifest lists both sets while files move (an interrupted
    move leaves a directory the next report still recognises), then the new set."""
    new = staged_files(stage)
    _write_manifest(output_dir, set(new) | earlier)
    for rel in new:
        target = os.path.join(output_dir, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(os.path.join(stage, *rel.split("/")), target)
    for rel in sorted(earlier - set(new)):
        target = os.path.join(output_dir, *rel.split("/"))
        if os.path.lexists(target) and not os.path.isdir(target) or os.path.islink(target):
            os.remove(target)
        parent = os.path.dirname(target)
        with contextlib.suppress(OSError):  # a sub-directory the report made, now empty
            if os.path.realpath(parent) != os.path.realpath(output_dir):
                os.rmdir(parent)
    _write_manifest(output_dir, new)
    return new


def make_stage(output_dir: str) -> str:
    """A private staging directory inside ``output_dir`` (made if missing)."""
    os.makedirs(output_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=output_dir)


def remove_stage(stage: str | None) -> None:
    if stage:
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def writing_errors(output_dir: str):
    """An :class:`OSError` while writing the report (read-only file system, disk full,
    permission) as a one-line :class:`UsageError`."""
    try:
        yield
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else output_dir
        raise UsageError(f"cannot write the report to {output_dir} ({where}: "
                         f"{exc.strerror or type(exc).__name__})") from None

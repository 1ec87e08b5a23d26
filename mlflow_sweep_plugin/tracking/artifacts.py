"""Log a results directory without its plots, or sorted into folders by file type.

Both helpers replace per-team loops over ``mlflow.log_artifact``:

- :func:`log_artifacts_selectively` logs what a job wrote minus what is cheap to
  regenerate (plots), or only what ``include`` names;
- :func:`log_artifacts_by_type` puts models under ``models/``, figures under
  ``visualizations/`` and data and reports under ``results/`` (the layout the SOM
  format expects), keeping sub-directories below that.

Patterns are ``.gitignore``-like: one without ``/`` matches a file name anywhere
(``*.png``); one with ``/`` matches the path from the directory given
(``plots/**``: everything under ``plots``; ``*`` stays within one path segment,
``**`` spans any number).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from .sink import resolve_sink

DEFAULT_EXCLUDE = ("*.png", "plots/**")

# file extension -> artifact folder; the longest matching extension wins (.tar.gz)
DEFAULT_TYPE_MAPPING: dict[str, str] = {
    **{ext: "models" for ext in (
        ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".onnx", ".h5", ".hdf5", ".keras",
        ".safetensors", ".pb", ".tflite", ".sav", ".model", ".bin", ".msgpack", ".cbm", ".ubj")},
    **{ext: "visualizations" for ext in (
        ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".html", ".htm", ".eps", ".tif",
        ".tiff", ".webp", ".bmp", ".mp4")},
    **{ext: "results" for ext in (
        ".json", ".jsonl", ".yaml", ".yml", ".csv", ".tsv", ".txt", ".md", ".npz", ".npy",
        ".parquet", ".feather", ".log", ".xml", ".toml", ".ini", ".rst", ".tex")},
}
DEFAULT_OTHER = "other"


@lru_cache(maxsize=256)
def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def matches(relpath: str, pattern: str) -> bool:
    """Whether ``relpath`` (with ``/``) matches one ``.gitignore``-like pattern."""
    pattern = pattern.strip()
    if pattern.endswith("/"):
        pattern += "**"  # a directory: everything under it
    if "/" not in pattern:
        return bool(_pattern_regex(pattern).fullmatch(relpath.rsplit("/", 1)[-1]))
    return bool(_pattern_regex(pattern.lstrip("/")).fullmatch(relpath))


def _walk(local_dir: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(local_dir):
        dirnames.sort()
        rel = os.path.relpath(dirpath, local_dir)
        rel = "" if rel == "." else rel.replace(os.sep, "/")
        for name in sorted(filenames):
            out.append(f"{rel}/{name}" if rel else name)
    return out


def _join(*parts) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def select_files(local_dir: str, exclude=DEFAULT_EXCLUDE, include=None) -> list[str]:
    """The files (relative paths) under ``local_dir`` that the patterns let through."""
    if isinstance(exclude, str):
        exclude = (exclude,)
    if isinstance(include, str):
        include = (include,)
    chosen = []
    for rel in _walk(local_dir):
        if include is not None and not any(matches(rel, p) for p in include):
            continue
        if any(matches(rel, p) for p in exclude or ()):
            continue
        chosen.append(rel)
    return chosen


def log_artifacts_selectively(local_dir, artifact_path: str | None = None,
                              exclude=DEFAULT_EXCLUDE, include=None,
                              run_id: str | None = None) -> list[str]:
    """Log the files under ``local_dir`` that match ``include`` (default: all) and not
    ``exclude`` (default: ``*.png`` and ``plots/**``), keeping their relative paths
    under ``artifact_path``. Returns the artifact paths logged."""
    local_dir = os.fspath(local_dir)
    if not os.path.isdir(local_dir):
        raise NotADirectoryError(f"log_artifacts_selectively: {local_dir!r} is not a directory")
    sink = resolve_sink(run_id)
    logged = []
    for rel in select_files(local_dir, exclude, include):
        directory = _join(artifact_path or "", rel.rpartition("/")[0])
        sink.log_artifact(os.path.join(local_dir, *rel.split("/")), directory or None)
        logged.append(_join(directory, rel.rpartition("/")[2]))
    return logged


def artifact_type(filename: str, mapping: dict, default: str | None) -> str | None:
    """The folder for ``filename`` by its longest matching extension (case-insensitive)."""
    name = filename.lower()
    best = None
    for ext, folder in mapping.items():
        ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
        if name.endswith(ext) and (best is None or len(ext) > len(best[0])):
            best = (ext, folder)
    return best[1] if best else default


def log_artifacts_by_type(paths_or_dir, mapping: dict | None = None, *,
                          replace_mapping: bool = False, default: str | None = DEFAULT_OTHER,
                          artifact_path: str | None = None,
                          run_id: str | None = None) -> dict[str, list[str]]:
    """Log files into folders by type: ``models/``, ``visualizations/``, ``results/``.

    ``paths_or_dir``: a directory (walked recursively; sub-paths are kept below the
    type folder: ``learner/particles.npz`` -> ``results/learner/particles.npz``), a file,
    or a list of them. ``mapping`` (``{".npz": "arrays"}``) is merged over
    :data:`DEFAULT_TYPE_MAPPING` (or replaces it with ``replace_mapping=True``); a file
    no extension matches goes to ``default`` (``"other"``; ``None`` skips it).
    ``artifact_path`` puts all of it under one more folder. Returns
    ``{folder: [artifact paths]}``.
    """
    table = dict(mapping or {}) if replace_mapping else {**DEFAULT_TYPE_MAPPING, **(mapping or {})}
    if isinstance(paths_or_dir, (str, os.PathLike)):
        paths_or_dir = [paths_or_dir]
    files: list[tuple[str, str]] = []  # (local path, relative path to keep)
    for p in paths_or_dir:
        p = os.fspath(p)
        if os.path.isdir(p):
            files += [(os.path.join(p, *rel.split("/")), rel) for rel in _walk(p)]
        elif os.path.isfile(p):
            files.append((p, os.path.basename(p)))
        else:
            raise FileNotFoundError(f"log_artifacts_by_type: no such file or directory: {p!r}")
    sink = resolve_sink(run_id)
    out: dict[str, list[str]] = {}
    for local, rel in files:
        folder = artifact_type(rel, table, default)
        if folder is None:
            continue
        directory = _join(artifact_path or "", folder, rel.rpartition("/")[0])
        sink.log_artifact(local, directory or None)
        out.setdefault(folder, []).append(_join(directory, rel.rpartition("/")[2]))
    return out

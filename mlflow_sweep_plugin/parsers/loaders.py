"""Turn an artifact's bytes into Python objects, safely.

Never unpickles: ``.npz`` files are opened with ``allow_pickle=False`` and YAML with
the safe loader, because artifacts come from whoever could write to the run.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any, Callable

import yaml

from ..errors import BadArtifact


def load_json(data: bytes) -> Any:
    # Python's json module accepts the bare NaN / Infinity tokens json.dump writes.
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadArtifact(f"invalid JSON: {exc}") from None


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that also reads bare ``NaN``/``Infinity`` and ``1e-3`` as floats
    (YAML 1.1 wants ``1.0e-3``; research configs write ``1e-3``)."""


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:nan|NaN|inf|Infinity)|[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)$"),
    list("-+nNiI0123456789"),
)


def _construct_float(loader, node):
    value = loader.construct_scalar(node)
    low = value.lower().lstrip("+")
    if low in ("nan", ".nan"):
        return math.nan
    if low in ("inf", "infinity", ".inf"):
        return math.inf
    if low in ("-inf", "-infinity", "-.inf"):
        return -math.inf
    return yaml.SafeLoader.construct_yaml_float(loader, node)


_SafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def load_yaml(data: bytes) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_SafeLoader)  # noqa: S506 - safe subclass
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadArtifact(f"invalid YAML: {exc}") from None


def load_npz(data: bytes) -> dict:
    import numpy as np

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as exc:  # includes "Object arrays cannot be loaded when allow_pickle=False"
        raise BadArtifact(f"invalid or unsafe .npz: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError ...
        raise BadArtifact(f"invalid .npz: {type(exc).__name__}: {exc}") from None


def load_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadArtifact(f"not UTF-8 text: {exc}") from None


LOADERS: dict[str, Callable[[bytes], Any]] = {
    "json": load_json,
    "yaml": load_yaml,
    "npz": load_npz,
    "text": load_text,
    "bytes": lambda data: data,
}

_BY_SUFFIX = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".npz": "npz", ".txt": "text",
              ".csv": "text", ".md": "text", ".log": "text"}


def resolve_loader(loader, pattern: str) -> Callable[[bytes], Any]:
    """The loader function for a parser: explicit name or callable, else by extension."""
    if callable(loader):
        return loader
    if loader is None:
        suffix = "." + pattern.rsplit(".", 1)[-1].lower() if "." in pattern.rsplit("/", 1)[-1] else ""
        loader = _BY_SUFFIX.get(suffix, "bytes")
    try:
        return LOADERS[loader]
    except KeyError:
        raise ValueError(f"unknown loader {loader!r}; choose from {sorted(LOADERS)}") from None

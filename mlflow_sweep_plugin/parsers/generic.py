"""The built-in generic parser behind ``--artifact PATTERN``.

Any JSON or YAML summary becomes one record with dotted column names, so a team can
export a new kind of artifact before (or without) writing a plugin.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import BadArtifact
from . import bounds
from .base import Parser
from .loaders import load_json, load_yaml
from .pattern import ArtifactPattern

_SCALARS = (str, int, float, bool, type(None))


def flatten_record(obj: Any, prefix: str = "", sep: str = ".", max_nodes: int | None = None) -> dict:
    """Nested mappings -> dotted keys; lists of scalars -> JSON strings; lists of
    mappings -> indexed keys (``runs.0.loss``). The tree is measured first: more than
    ``max_nodes`` values (default :func:`~.bounds.max_nodes`) is
    :class:`~.bounds.TooManyNodes` (a ``BadArtifact``), so an alias bomb is refused,
    never expanded."""
    bounds.count_nodes(obj, max_nodes)
    out: dict = {}

    def walk(value, key):
        if isinstance(value, dict):
            if not value and key:
                out[key] = "{}"
            for k, v in value.items():
                walk(v, f"{key}{sep}{k}" if key else str(k))
        elif isinstance(value, (list, tuple)):
            if all(isinstance(v, _SCALARS) for v in value):
                out[key] = json.dumps(list(value))
            else:
                for i, v in enumerate(value):
                    walk(v, f"{key}{sep}{i}" if key else str(i))
        else:
            out[key] = value

    walk(obj, prefix)
    return out


def _load_any(data: bytes):
    try:
        return load_json(data)
    except BadArtifact:
        return load_yaml(data)


def _parse_generic(content, ctx):
    """Flatten a JSON or YAML file into dotted columns."""
    if isinstance(content, dict):
        return [flatten_record(content)]
    if isinstance(content, list):
        if content and all(isinstance(item, dict) for item in content):
            return [flatten_record(item) for item in content]
        bounds.count_nodes(content)  # measured before json.dumps walks it
        return [{"value": json.dumps(content)}]
    raise BadArtifact(f"expected a mapping or a list at the top level, got {type(content).__name__}")


def generic_parser(pattern: str) -> Parser:
    """A parser for ``--artifact PATTERN``: one record per file (one per item for a
    top-level list of mappings). ``ValueError`` naming ``pattern`` when it does not parse
    or can match nothing (:meth:`ArtifactPattern.check`)."""
    ArtifactPattern(pattern).check()
    suffix = pattern.rsplit(".", 1)[-1].lower()
    loader = {"json": load_json, "yaml": load_yaml, "yml": load_yaml}.get(suffix, _load_any)
    return Parser(name=f"artifact:{pattern}", pattern=pattern, parse=_parse_generic,
                  loader=loader, plugin="mlflow-sweep (built-in)")

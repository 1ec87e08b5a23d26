"""Bounded work on a loaded tree: alias bombs cost nothing until something walks them.

A YAML file of nine anchors, each a list of nine aliases of the previous one, loads in
microseconds into a few dozen shared objects, and stands for 9^9 values: whatever
walks it as a tree (``json.dumps`` for a message, flattening it into columns, OmegaConf
copying it into nodes) does 9^9 steps. So:

- :func:`preview` renders a value for a message (JSON, the first 60 characters, as
  before) visiting at most a few hundred nodes;
- :func:`count_nodes` measures a tree the way a walk would see it (a shared object
  counts every time it is reached) at the cost of one step per distinct object, and
  refuses more than :data:`MAX_NODES`: flattening measures before it walks, and a Hydra
  config is measured before OmegaConf expands it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import BadArtifact

#: values (mappings, lists and scalars, each time reached) a tree may have before it is
#: refused: far above any summary flattened into columns, far below a bomb's 9^9
MAX_NODES = 2_000_000
MAX_NODES_ENV = "MLFLOW_SWEEP_MAX_NODES"
#: nodes a message's preview visits at most
PREVIEW_NODES = 300


def max_nodes() -> int:
    """``$MLFLOW_SWEEP_MAX_NODES`` (default :data:`MAX_NODES`)."""
    try:
        return max(1, int(os.environ.get(MAX_NODES_ENV, "") or MAX_NODES))
    except ValueError:
        return MAX_NODES


class TooManyNodes(BadArtifact):
    """A tree with more values than the limit (an alias bomb, or absurdly large)."""


def too_many(limit: int) -> TooManyNodes:
    return TooManyNodes(f"more than {limit:,} values (YAML aliases expanding, or a file far "
                        f"larger than a summary): not read further (${MAX_NODES_ENV} raises the limit)")


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _children(item):
    return item.values() if isinstance(item, dict) else item


def _endless() -> TooManyNodes:
    return TooManyNodes("a value that contains itself (a recursive YAML alias): not read")


def count_nodes(value: Any, limit: int | None = None) -> int:
    """The number of values a walk of ``value`` as a tree visits (mappings, lists,
    tuples, sets and their items, recursively: a shared object counts each time it is
    reached, as ``json.dumps`` or a flattener would reach it); raises
    :class:`TooManyNodes` when that is more than ``limit`` (default :func:`max_nodes`),
    or when the tree contains itself (a recursive YAML alias: endless).

    Costs one step per distinct object, not per value: each object's expanded size is
    worked out once (a bomb of nine anchors is measured in microseconds)."""
    limit = max_nodes() if limit is None else limit
    if not isinstance(value, _CONTAINERS):
        return 1
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list = [(value, False)]
    while stack:
        item, done = stack.pop()
        key = id(item)
        if done:
            entered.discard(key)
            total = 1
            for child in _children(item):
                total += sizes[id(child)] if isinstance(child, _CONTAINERS) else 1
                if total > limit:
                    raise too_many(limit)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in entered:
            raise _endless()
        entered.add(key)
        stack.append((item, True))
        for child in _children(item):
            if isinstance(child, _CONTAINERS) and id(child) not in sizes:
                if id(child) in entered:
                    raise _endless()
                stack.append((child, False))
    return sizes[id(value)]


def _key(k) -> str:
    """A mapping key as ``json.dumps`` writes it."""
    if isinstance(k, str):
        return k
    if k is True or k is False or k is None or isinstance(k, (int, float)):
        return json.dumps(k)
    return str(k)


def preview(value: Any, chars: int = 60, nodes: int = PREVIEW_NODES) -> str:
    """``json.dumps(value, default=str)[:chars]``, but visiting at most ``nodes`` nodes
    and writing at most about ``chars`` characters, however large ``value`` stands for."""
    out: list[str] = []
    size = 0
    budget = [nodes]

    class _Full(Exception):
        pass

    def emit(text: str) -> None:
        nonlocal size
        out.append(text)
        size += len(text)
        if size >= chars:
            raise _Full

    def scalar(v) -> str:
        if isinstance(v, str) and len(v) > chars:
            return json.dumps(v[: chars + 1])[:-1]  # a prefix of the whole string's JSON
        try:
            return json.dumps(v, default=str)
        except (TypeError, ValueError):
            return json.dumps(str(v))

    def walk(v) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            emit("...")
            raise _Full
        if isinstance(v, dict):
            emit("{")
            for i, (k, item) in enumerate(v.items()):
                emit((", " if i else "") + json.dumps(_key(k)) + ": ")
                walk(item)
            emit("}")
        elif isinstance(v, (list, tuple)):
            emit("[")
            for i, item in enumerate(v):
                if i:
                    emit(", ")
                walk(item)
            emit("]")
        else:
            emit(scalar(v))

    try:
        walk(value)
    except _Full:
        pass
    except RecursionError:  # pragma: no cover - nodes bounds the depth far below this
        pass
    return "".join(out)[:chars]

"""Turn an artifact's bytes into Python objects, safely.

Never unpickles: ``.npz`` files are opened with ``allow_pickle=False`` and YAML with
the safe loader, because artifacts come from whoever could write to the run.

Bounded (:mod:`mlflow_sweep_plugin.limits`): a YAML document whose aliases expand to
more values than the node limit (:func:`.bounds.max_nodes`) is refused before anything
is built ("billion laughs");
an ``.npz`` whose members declare, or whose arrays' headers claim, more bytes than the
artifact limit is refused before anything is inflated (a zip bomb).
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from typing import Any, Callable

import yaml

from .. import limits as _limits
from ..errors import BadArtifact
from . import bounds


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


def expanded_size(node, limit: int) -> int:
    """How many values the YAML node graph ``node`` stands for once its aliases are
    expanded (each alias counts what it points to, every time; a mapping counts its
    values, as :func:`.bounds.count_nodes` counts the loaded tree), computed on the graph
    in time linear in its size; :class:`.bounds.TooManyNodes` as soon as that passes
    ``limit``, or for an alias that contains itself."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack = [(node, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        if children_done:
            total = 1
            for child in _yaml_children(item):
                total += sizes[id(child)]
                if total > limit:
                    raise _too_many_nodes(limit)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in entered:  # reached again while its own children are counted
            raise _contains_itself()
        entered.add(key)
        stack.append((item, True))
        for child in _yaml_children(item):
            if id(child) in entered and id(child) not in sizes:
                raise _contains_itself()
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(node)]


def _yaml_children(node):
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    return ()


def _too_many_nodes(limit: int) -> bounds.TooManyNodes:
    return bounds.TooManyNodes(
        f"YAML aliases expand to more than {limit:,} values (an alias bomb, or far larger than "
        f"a summary): not read (${bounds.MAX_NODES_ENV} raises the limit)")


def _contains_itself() -> bounds.TooManyNodes:
    return bounds.TooManyNodes("YAML aliases make the document contain itself (a recursive alias): not read")


def load_yaml(data: bytes) -> Any:
    """One YAML document, safely: no Python tags, and refused when its aliases expand
    to more than the node limit (:func:`expanded_size`) before anything is built."""
    limit = bounds.max_nodes()
    try:
        loader = _SafeLoader(data.decode("utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            expanded_size(node, limit)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadArtifact(f"invalid YAML: {exc}") from None


def _check_npz(data: bytes, limit: int) -> None:
    """Refuse an ``.npz`` whose members declare, or whose arrays' headers claim, more
    than ``limit`` bytes in all, reading only the zip directory and each member's first
    bytes (nothing is inflated beyond an array's header)."""
    import numpy as np  # heavy: only for an .npz

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        declared = sum(max(0, i.file_size) for i in infos)
        if declared > limit:
            raise _limits.ArtifactTooLarge(declared, limit, "the .npz, inflated,")
        claimed = 0
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as fh:
                try:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                except (ValueError, EOFError):
                    continue  # np.load says what is wrong with it
            n = 1
            for dim in shape:
                n *= int(dim)
            size = n * dtype.itemsize
            if size > info.file_size:  # the array claims more than the member holds
                raise BadArtifact(f"invalid .npz: member {info.filename!r} claims {size:,} bytes of "
                                  f"array data but holds {info.file_size:,}")
            claimed += size
            if claimed > limit:
                raise _limits.ArtifactTooLarge(claimed, limit, "the .npz's arrays")


def load_npz(data: bytes) -> dict:
    """The arrays of an ``.npz``: no pickles, and refused unopened when it would inflate
    to more than the artifact limit (:func:`_check_npz`)."""
    import numpy as np  # heavy: only for an .npz

    try:
        _check_npz(data, _limits.current().max_artifact_bytes)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except BadArtifact:
        raise
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

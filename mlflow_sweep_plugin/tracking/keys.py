"""Reversible escaping of config keys into valid MLflow param and metric names.

MLflow accepts names made of letters, digits, ``_ - . / space`` (and ``:`` except on
Windows), at most 250 characters, and refuses names that are not normalised paths
(``/a``, ``a/``, ``a//b``, ``..``). Config keys can hold anything, and the flattening
separator (``.``) inside a key would make ``{"a.b": 1}`` and ``{"a": {"b": 1}}`` collide.
So each key *segment* is escaped:

- kept as is: ASCII letters, digits, ``-``, space, ``_`` and ``/``;
- every other character, and the separator, ``.`` and ``:`` (not valid on Windows
  servers), is written as ``_-HH`` per UTF-8 byte (upper-case hex): ``cuda:0`` ->
  ``cuda_-3A0``, ``v1.2`` -> ``v1_-2E2``, ``λ`` -> ``_-CE_-BB``;
- ``_`` directly before ``-`` is escaped too (``a_-b`` -> ``a_-5F-b``), so ``_-`` in an
  escaped name always starts an escape and decoding is unambiguous;
- ``/`` at the start or end of a segment, or doubled, is escaped (MLflow refuses such
  path-like names); elsewhere it is kept (``train/loss``);
- an empty segment is written ``_-``.

:func:`unescape_segment` undoes it exactly. A name longer than 250 characters is cut to
fit and ends with ``...`` and 8 hex digits of its SHA-1 (unique, but not reversible:
the full config is kept in the YAML artifact ``log_config`` writes).
"""

from __future__ import annotations

import hashlib
import posixpath
import re

MAX_KEY_LENGTH = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
ESCAPE = "_-"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789- _/")
_HEX = re.compile(r"[0-9A-F]{2}")


def _encode_char(ch: str) -> str:
    return "".join(f"{ESCAPE}{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def escape_segment(segment: str, keep: str = "") -> str:
    """Escape one key segment (see the module docstring); ``keep`` lists extra
    characters to leave alone (``log_metrics`` keeps ``.`` in names it was given)."""
    segment = str(segment)
    if segment == "":
        return ESCAPE
    out = []
    n = len(segment)
    for i, ch in enumerate(segment):
        nxt = segment[i + 1] if i + 1 < n else ""
        if ch == "_":
            out.append(_encode_char(ch) if nxt == "-" else ch)
        elif ch == "/":
            prev = segment[i - 1] if i else ""
            edge = i == 0 or i == n - 1 or nxt == "/" or prev == "/"
            out.append(_encode_char(ch) if edge else ch)
        elif ch in _SAFE or ch in keep:
            out.append(ch)
        else:
            out.append(_encode_char(ch))
    return "".join(out)


def unescape_segment(segment: str) -> str:
    """The original text of an escaped segment: ``unescape_segment(escape_segment(s)) == s``."""
    if segment == ESCAPE:
        return ""
    out = bytearray()
    i, n = 0, len(segment)
    while i < n:
        if segment.startswith(ESCAPE, i) and _HEX.fullmatch(segment[i + 2:i + 4]):
            out.append(int(segment[i + 2:i + 4], 16))
            i += 4
        else:
            out += segment[i].encode("utf-8")
            i += 1
    return out.decode("utf-8", "surrogatepass")


def split_key(key: str, sep: str = ".") -> list[str]:
    """The original segments of a key made by :func:`join_key` (the reverse mapping)."""
    return [unescape_segment(s) for s in key.split(sep)]


def join_key(segments, sep: str = ".") -> str:
    """Escape each segment and join them: ``["model", "cuda:0"]`` -> ``model.cuda_-3A0``."""
    return shorten(sep.join(escape_segment(s) for s in segments))


def is_valid_name(name: str) -> bool:
    """Whether MLflow (on any platform) accepts ``name`` as a param or metric key."""
    if not name or len(name) > MAX_KEY_LENGTH or not re.fullmatch(r"[/\w.\- ]*", name):
        return False
    norm = posixpath.normpath(name)
    return not (norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"))


def shorten(key: str) -> str:
    """Cut a name longer than MLflow's 250 characters, keeping it unique."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return key[:MAX_KEY_LENGTH - 11] + "..." + digest


def metric_name(parts, sep: str = ".") -> str:
    """A valid metric name from name parts a user gave (``"train/loss"``, ``"SVGD.eshd"``).

    Dots and slashes in the parts are kept (they are meant as structure); only what
    MLflow would refuse is escaped, as in :func:`escape_segment`.
    """
    name = sep.join(escape_segment(p, keep="./") for p in parts)
    if not is_valid_name(shorten(name)):
        name = sep.join(escape_segment(p, keep="") for p in parts)
    return shorten(name)

"""A Hydra job's overrides as params: each override under its own name, whatever the order."""

from __future__ import annotations

from ..tracking.keys import join_key
from ..tracking.redact import REDACTED, redactor

DELETED = "(deleted)"  # the param value of a deletion override (``~key``)


def parse_override(text: str):
    """``"+db.port=3306"`` -> ``("db.port", "3306")``; deletions (``~key``) -> None."""
    parsed = split_override(text)
    if parsed is None or parsed[0] == "~":
        return None
    _op, key, _package, value = parsed
    return key, value


def split_override(text: str):
    """``(op, key, package, value)`` of one override as written (``op`` is ``""``,
    ``"+"``, ``"++"`` or ``"~"``; ``value`` None for ``~key``), or None when it is not one."""
    text = str(text).strip()
    op = ""
    for prefix in ("++", "+", "~"):
        if text.startswith(prefix):
            op, text = prefix, text[len(prefix):]
            break
    key, sep, value = text.partition("=")
    if not sep and op != "~":
        return None
    key = key.strip()
    package = None
    if "@" in key:  # group@package=option: the group selection is what varies
        key, package = key.split("@", 1)
    if not key:
        return None
    return op, key, package, (value if sep else None)


def override_params(overrides, redact=None) -> dict:
    """Each override as one param under its own name, values as written on the command
    line: ``db=mysql`` -> ``db``, ``db.port=1`` -> ``db.port`` (both, in any order),
    ``+x=1`` -> ``x``, ``~x`` -> ``x = (deleted)``, ``group@pkg=opt`` -> ``group`` (or
    ``group@pkg`` escaped when the same group is selected twice). Names are escaped per
    segment as :func:`~mlflow_sweep_plugin.tracking.keys.join_key` does; keys that look
    like credentials get ``***`` (``redact``: see :mod:`~mlflow_sweep_plugin.tracking.redact`)."""
    secrets = redactor(redact)
    parsed = [p for p in (split_override(o) for o in overrides) if p is not None]
    counts: dict = {}
    for _op, key, _package, _value in parsed:
        counts[key] = counts.get(key, 0) + 1
    out: dict = {}
    for op, key, package, value in parsed:
        path = key.split(".")
        if package is not None and counts[key] > 1:
            path[-1] = f"{path[-1]}@{package}"
        name = join_key(path)
        if op == "~":
            value = DELETED
        elif secrets is not None and secrets.key_matches(key.split(".")):
            value = REDACTED
        out[name] = value
    return out

"""Checks a parser makes on a loaded artifact, each raising :class:`~mlflow_sweep_plugin.BadArtifact`.

A parse function checks every value the format constrains and lets these raise: the
exporter turns :class:`~mlflow_sweep_plugin.BadArtifact` into one warning naming the run
and the file, and the file yields no row. ``where`` says where in the file the value is
(``"executions[3].k"``); the message is ``"<where>: expected ..., got <value>"`` with the
value as JSON cut at 60 characters::

    from mlflow_sweep_plugin.parsers import checks

    def parse_scores(data, ctx):
        data = checks.mapping(data, "top level")
        yield {"acc": checks.number(data.get("acc"), "acc", allow_none=False),
               "epochs": checks.integer(data.get("epochs"), "epochs")}

``None`` (JSON ``null``) passes the value checks unless ``allow_none=False``: most
formats allow a missing number.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from ..errors import BadArtifact
from .bounds import preview

SHOWN_CHARS = 60


def show(value: Any) -> str:
    """``value`` for a message: JSON (``str()`` for what JSON cannot write), at most 60
    characters, visiting at most a few hundred nodes (an alias bomb's expanded tree is
    never walked: :func:`~.bounds.preview`)."""
    return preview(value, SHOWN_CHARS)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def number(value: Any, where: str, *, integer: bool = False, allow_none: bool = True):
    """``value`` when it is a number (``bool`` is not); ``None`` for ``None``.

    Anything else: ``"<where>: expected a number, got <value>"``. With ``integer=True``
    the number must also be whole (``3.0`` becomes ``3``), else ``"<where>: expected an
    integer, got <value>"``; use :func:`integer` where the format only ever has integers.
    """
    if value is None and allow_none:
        return None
    if not _is_number(value):
        raise BadArtifact(f"{where}: expected a number, got {show(value)}")
    return _integer(value, where) if integer else value


def floating(value: Any, where: str, *, allow_none: bool = True) -> float | None:
    """:func:`number`, as a ``float``."""
    checked = number(value, where, allow_none=allow_none)
    return None if checked is None else float(checked)


def integer(value: Any, where: str, *, allow_none: bool = True) -> int | None:
    """``value`` when it is an ``int`` (a whole float such as ``3.0`` becomes ``3``; ``bool``
    is not an integer); ``None`` for ``None``. Anything else: ``"<where>: expected an
    integer, got <value>"``."""
    if value is None and allow_none:
        return None
    return _integer(value, where)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise BadArtifact(f"{where}: expected an integer, got {show(value)}")


def text(value: Any, where: str, *, allow_none: bool = True) -> str | None:
    """``value`` when it is a ``str``; ``None`` for ``None``. Anything else:
    ``"<where>: expected text, got <value>"``."""
    if (value is None and allow_none) or isinstance(value, str):
        return value
    raise BadArtifact(f"{where}: expected text, got {show(value)}")


def mapping(value: Any, where: str) -> dict:
    """``value`` when it is a ``dict`` (a JSON object); else ``"<where>: expected an
    object, got <type>"`` (``mapping(data, "top level")`` for a whole file)."""
    if not isinstance(value, dict):
        raise BadArtifact(f"{where}: expected an object, got {type(value).__name__}")
    return value


def section(data: dict, name: str, *, types: type | tuple = dict):
    """``data[name]``, a required section of a file: ``"missing section '<name>'"`` when
    absent, ``"<name>: expected an object, got <type>"`` when not of ``types``."""
    if name not in data:
        raise BadArtifact(f"missing section {name!r}")
    value = data[name]
    if not isinstance(value, types):
        raise BadArtifact(f"{name}: expected an object, got {type(value).__name__}")
    return value

"""Secrets in a job's files: the values its config hides, and redacted copies of its
YAML, log and text files (a log that printed the config)."""

from __future__ import annotations

import os
import re

import yaml

from ..parsers.bounds import count_nodes
from ..tracking.redact import REDACTED, redact_data, redact_overrides_text
from .overrides import split_override
from .jobs import safe_load

_SCRUB_SUFFIXES = (".log", ".txt", ".json", ".out", ".err")
_YAML_SUFFIXES = (".yaml", ".yml")
_MAX_SCRUB_BYTES = 16 * 1024 * 1024
_NOT_SECRET_VALUES = frozenset({"none", "null", "true", "false", "???", "***", "(deleted)"})
_KEY_LINE = re.compile(r"^(\s*(?:-\s+)?[\"']?)([A-Za-z_][\w.\-]*)([\"']?\s*[:=]\s*)(\S.*)$")


def secret_values(config, overrides, secrets) -> set:
    """The texts of the values that ``secrets`` hides in a job (its composed config and
    its overrides), to scrub them from the job's text files (a log that printed the
    config). Short or common ones (``true``, 3 characters or less) are left."""
    if secrets is None:
        return set()
    found: set = set()

    def collect(data, hidden: bool):
        if isinstance(data, dict):
            for k, v in data.items():
                leaf = not isinstance(v, (dict, list))
                collect(v, hidden or secrets.matches(k, leaf=leaf))
        elif isinstance(data, list):
            for v in data:
                collect(v, hidden)
        elif hidden and data is not None:
            found.add(str(data))

    if isinstance(config, (dict, list)):
        collect(config, False)
    for text in overrides or ():
        parsed = split_override(text)
        if parsed and parsed[3] is not None and secrets.key_matches(parsed[1].split(".")):
            found.add(parsed[3])
    return {v for v in found if len(v) >= 4 and v.lower() not in _NOT_SECRET_VALUES}


def redacted_text(path: str, secrets, values=()) -> str | None:
    """The text to log instead of the file at ``path`` when it holds secrets: a YAML
    file with its credential keys (and ``key=value`` overrides) as ``***``; a log or
    text file with ``key: value`` / ``key=value`` lines of credential keys and the known
    secret ``values`` as ``***`` (a log that printed the config). None when there is nothing to hide (the file is logged
    as it is) or the file is not text."""
    if secrets is None:
        return None
    lower = path.lower()
    is_yaml = lower.endswith(_YAML_SUFFIXES)
    if not (is_yaml or lower.endswith(_SCRUB_SUFFIXES)):
        return None
    try:
        if os.path.getsize(path) > _MAX_SCRUB_BYTES:
            return None
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None
    new = text
    if is_yaml:
        try:
            data = safe_load(text)
            count_nodes(data)  # an alias bomb is scrubbed as text, never walked
        except Exception:  # noqa: BLE001 - not YAML after all (or a bomb): scrub it as text
            data = None
            is_yaml = False
        if is_yaml:
            hidden = redact_data(data, secrets)
            if hidden != data:
                new = yaml.safe_dump(hidden, sort_keys=False, allow_unicode=True,
                                     default_flow_style=False)
    if not is_yaml:
        lines = []
        for line in new.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            m = _KEY_LINE.match(body)
            if m and secrets.matches(m.group(2).rsplit(".", 1)[-1]):
                body = m.group(1) + m.group(2) + m.group(3) + REDACTED
            else:
                body = redact_overrides_text(body, secrets)
            lines.append(body + line[len(line.rstrip("\r\n")):])
        new = "".join(lines)
        for value in sorted(values, key=len, reverse=True):
            new = new.replace(value, REDACTED)
    return new if new != text else None

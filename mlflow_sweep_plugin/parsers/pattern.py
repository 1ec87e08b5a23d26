"""Artifact path patterns with named captures.

A pattern such as ``layer_{layer}/cluster_summary.json`` is compiled to a regular
expression; a run's artifact listing is matched against it, so no parser hard-codes
which layers (or learners, or seeds) exist. Captured values that look numeric are
returned as numbers, because they become table columns that users filter on
(``df[df.layer == 0]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_TOKEN = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<kind>path))?\}|\*\*|\*")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


def coerce_capture(value: str):
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, anything else unchanged (``"007"`` stays text)."""
    if _INT.fullmatch(value) and not (len(value.lstrip("+-")) > 1 and value.lstrip("+-")[0] == "0"):
        return int(value)
    if _FLOAT.fullmatch(value) and not _INT.fullmatch(value):
        return float(value)
    return value


@dataclass(frozen=True)
class ArtifactPattern:
    """A compiled artifact path pattern."""

    pattern: str

    def check(self) -> "ArtifactPattern":
        """``self``; ``ValueError`` naming the pattern when it does not parse (a ``{`` or
        ``}`` that is not a capture, a capture twice) or can match no artifact path
        (empty, absolute, an empty, ``.`` or ``..`` segment)."""
        p = self.pattern
        if not isinstance(p, str) or not p.strip():
            raise ValueError(f"empty pattern {p!r} matches no artifact")
        rest = _TOKEN.sub("", p)
        if "{" in rest or "}" in rest:
            raise ValueError(f"pattern {p!r} does not parse: a '{{' or '}}' that is not a capture "
                             "such as {name} or {name:path}")
        if p.startswith("/") or any(part in ("", ".", "..") for part in p.split("/")):
            raise ValueError(f"pattern {p!r} matches no artifact (artifact paths are relative, "
                             "with no empty, '.' or '..' part)")
        self.regex  # noqa: B018 - a capture named twice raises here, not at the first match
        return self

    @cached_property
    def regex(self) -> re.Pattern:
        out, pos, names = [], 0, set()
        for m in _TOKEN.finditer(self.pattern):
            out.append(re.escape(self.pattern[pos : m.start()]))
            tok = m.group(0)
            if tok == "**":
                out.append(r"(?:[^/]+/)*[^/]*")
            elif tok == "*":
                out.append(r"[^/]*")
            else:
                name = m.group("name")
                if name in names:
                    raise ValueError(f"capture {{{name}}} appears twice in {self.pattern!r}")
                names.add(name)
                body = r".+" if m.group("kind") == "path" else r"[^/]+"
                out.append(f"(?P<{name}>{body})")
            pos = m.end()
        out.append(re.escape(self.pattern[pos:]))
        return re.compile("".join(out))

    @cached_property
    def fixed_prefix(self) -> str:
        """The directory part before the first wildcard: where listing can start."""
        m = _TOKEN.search(self.pattern)
        head = self.pattern if m is None else self.pattern[: m.start()]
        return head.rsplit("/", 1)[0] if "/" in head else ""

    @cached_property
    def depth(self) -> int | None:
        """Number of path segments a match has, or None when ``**``/``{x:path}`` allow any."""
        if "**" in self.pattern or ":path}" in self.pattern:
            return None
        return self.pattern.count("/") + 1

    def match(self, path: str) -> dict | None:
        """Captures (numbers coerced) when ``path`` matches, else None."""
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        return {k: coerce_capture(v) for k, v in m.groupdict().items()}

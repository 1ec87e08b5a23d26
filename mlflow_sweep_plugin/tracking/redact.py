"""Secrets are not params: which config keys are credentials, and their values hidden.

A key *segment* looks like a credential when, in lower case with camel case, ``-``,
``.`` and spaces turned into ``_`` (``dbPassword`` -> ``db_password``), it is one of
:data:`DEFAULT_REDACT` or ends with ``_`` and one of them (``db_password``,
``client_secret``, ``aws_secret_access_key``, ``hf_token``). Two words are common in
configs that hold no secret, so they count less:

- ``pass`` only as the whole segment (``db.pass``, not ``forward_pass``);
- ``token`` as the whole segment or a suffix, but not the special tokens of a tokenizer
  (``pad_token``, ``eos_token``, ... are kept);
- neither hides a whole sub-tree: ``token: {dim: 8}`` is not a secret, while
  ``credentials: {user: ..., key: ...}`` is hidden whole.

A redacted value is logged as ``***``. Which keys: ``redact=None`` (the default) means
:data:`DEFAULT_REDACT`; a non-empty list of names (or ``fnmatch`` patterns, matched in
the same lower-case form) *extends* it; an empty one (``()``, ``[]``) or ``False`` turns
redaction off. Pure functions, no MLflow import.
"""

from __future__ import annotations

import fnmatch
import re

REDACTED = "***"
DEFAULT_REDACT = ("password", "pass", "passwd", "secret", "token", "api_key", "apikey",
                  "access_key", "private_key", "secret_key", "credentials")
_WEAK = frozenset({"pass", "token"})  # never a sub-tree; ``pass`` only as a whole segment
_TOKENIZER_WORDS = frozenset({"pad", "eos", "bos", "unk", "sep", "cls", "mask", "start", "end",
                              "special", "max", "min", "num", "n", "first", "last", "image",
                              "video", "audio", "vision"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[-.\s]+")


def normalise(segment) -> str:
    """``"dbPassword"`` -> ``"db_password"``, ``"API-Key"`` -> ``"api_key"``."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", str(segment))).lower()


class Redactor:
    """Decides which key segments hold secrets (see the module docstring)."""

    def __init__(self, extra=()):
        self.extra = tuple(normalise(p) for p in extra)

    def __repr__(self) -> str:
        return f"Redactor(extra={self.extra!r})"

    def matches(self, segment, leaf: bool = True) -> bool:
        """Whether ``segment`` names a secret; ``leaf=False`` for a key holding a mapping
        or a list (only the strong names hide a whole sub-tree)."""
        name = normalise(segment)
        words = name.split("_")
        for term in DEFAULT_REDACT:
            if term in _WEAK and not leaf:
                continue
            if name == term:
                return True
            if term == "pass":
                continue
            if name.endswith("_" + term):
                if term == "token" and len(words) >= 2 and words[-2] in _TOKENIZER_WORDS:
                    continue
                return True
        for pattern in self.extra:
            if fnmatch.fnmatchcase(name, pattern) or name.endswith("_" + pattern):
                return True
        return False

    def key_matches(self, segments) -> bool:
        """Whether a dotted key (its segments) names a secret: its last segment, or an
        earlier one that hides its whole sub-tree (``credentials.user``)."""
        segments = list(segments)
        if not segments:
            return False
        if self.matches(segments[-1], leaf=True):
            return True
        return any(self.matches(s, leaf=False) for s in segments[:-1])


def redactor(redact) -> Redactor | None:
    """The :class:`Redactor` that ``redact=`` asks for, or None when it is turned off."""
    if isinstance(redact, Redactor):
        return redact
    if redact is None or redact is True:
        return Redactor()
    if redact is False:
        return None
    if isinstance(redact, str):
        redact = [redact]
    extra = [str(r) for r in redact]
    return Redactor(extra) if extra else None


def redact_data(data, r: Redactor | None):
    """Plain data (dicts, lists, scalars) with every secret value replaced by ``***``;
    override strings in lists (``db.pass=x``) are redacted too. A new object."""
    if r is None:
        return data
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            leaf = not isinstance(value, (dict, list))
            out[key] = REDACTED if r.matches(key, leaf=leaf) else redact_data(value, r)
        return out
    if isinstance(data, list):
        return [redact_data(v, r) for v in data]
    if isinstance(data, str) and "=" in data:
        return redact_overrides_text(data, r)
    return data


# ``key=`` at the start of the text or after a comma or a space: Hydra overrides,
# ``override_dirname`` (``a=1,db.pass=x``), a command line
_ASSIGNMENT = re.compile(r"(?:^|(?<=[,\s]))([+~]{0,2})([A-Za-z_][\w./@-]*)=")


def redact_override(text: str, r: Redactor | None) -> str:
    """One Hydra override: ``+db.pass=hunter2`` -> ``+db.pass=***`` (all after ``=``)."""
    if r is None or "=" not in text:
        return text
    m = _ASSIGNMENT.match(text.strip())
    if not m:
        return text
    key = m.group(2).split("@", 1)[0]
    if r.key_matches(key.split(".")):
        return text.strip()[:m.end()] + REDACTED
    return text


def redact_overrides_text(text: str, r: Redactor | None) -> str:
    """Every ``key=value`` in ``text`` whose key names a secret, value up to the next
    ``,key=`` / `` key=`` (or the end) replaced: ``lr=0.1,db.pass=x`` -> ``lr=0.1,db.pass=***``."""
    if r is None or "=" not in text:
        return text
    matches = list(_ASSIGNMENT.finditer(text))
    if not matches:
        return text
    out, pos = [], 0
    for i, m in enumerate(matches):
        key = m.group(2).split("@", 1)[0]
        if not r.key_matches(key.split(".")):
            continue
        end = matches[i + 1].start() - 1 if i + 1 < len(matches) else len(text)
        out.append(text[pos:m.end()])
        out.append(REDACTED)
        pos = max(end, m.end())
    out.append(text[pos:])
    return "".join(out)

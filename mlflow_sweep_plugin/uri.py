"""Tracking URI helpers: resolve the default, and never print credentials.

:func:`redact_uri` masks one URI; :func:`redact_text` masks every URI credential inside
any text (an exception's message, a log line, a tag value). Everything the project
prints, warns, logs, writes into a spool, a cache, a tag, a report or a table that is
not the user's own data goes through :func:`redact_text` (the warning channel, the
console, the spool, ``describe_error``, the hooks' error tags).
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_QUERY = re.compile(r"(token|password|passwd|secret|key|sig|signature|credential)", re.I)


def redact_uri(uri: str | None) -> str:
    """``http://user:pw@host/x?token=t`` -> ``http://***@host/x?token=***``."""
    if not uri:
        return str(uri)
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    netloc, query = parts.netloc, parts.query
    pairs = parse_qsl(query, keep_blank_values=True) if query else []
    secret_query = any(_SECRET_QUERY.search(k) for k, _ in pairs)
    if "@" not in netloc and not secret_query:
        return uri  # nothing to hide; keep sqlite:///abs/path exactly as given
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    if secret_query:
        query = urlencode([(k, "***" if _SECRET_QUERY.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


#: ``scheme://user:password@`` (user-info ends at the last ``@`` before the host; text
#: around the URI, quotes and spaces, is not part of it)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#@'\"<>]*(?:@[^\s/?#@'\"<>]*)*)@")
#: ``?token=...``, ``&X-Amz-Signature=...``, ``;sig=...`` (any query key naming a credential)
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;][^=&;\s#'\"<>?]*(?:token|password|passwd|secret|key|sig|signature|credential)"
    r"[^=&;\s#'\"<>?]*=)(?P<value>[^&;\s#'\"<>]+)", re.I)
#: the same two, URL-encoded once (a URI inside another URI's query)
_ENCODED_USERINFO = re.compile(r"(?P<scheme>%3A%2F%2F)(?P<userinfo>(?:(?!%2F|%40|[\s/?#&'\"<>]).)+)%40", re.I)


def redact_text(text) -> str:
    """``text`` with every URI credential in it masked: the user-info of any
    ``scheme://user:pw@host`` (-> ``scheme://***@host``) and the values of query
    parameters that name a credential (``?token=***``, ``&sig=***``,
    ``X-Amz-Signature=***``). Text without either comes back unchanged; ``None`` is
    ``"None"``."""
    if not isinstance(text, str):
        text = str(text)
    if "@" in text or "%40" in text or "%40" in text.upper():
        text = _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)
        text = _ENCODED_USERINFO.sub(lambda m: m.group("scheme") + "***%40", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m.group("key") + "***", text)
    return text


def redact_data(value):
    """A JSON-like value (dicts, lists, strings) with :func:`redact_text` applied to
    every string in it, keys included; other values unchanged."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v) for v in value)
    return value


def has_credentials(uri: str | None) -> bool:
    """Whether ``uri`` (or any URI in the text) carries credentials :func:`redact_text` masks."""
    return bool(uri) and redact_text(uri) != uri


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The URI given, else ``MLFLOW_TRACKING_URI``, else MLflow's own default."""
    if uri:
        return uri
    import mlflow  # heavy: uri.py is on mlflow-sweep --help's path

    return mlflow.get_tracking_uri()


def absolute_uri(uri: str) -> str:
    """A tracking URI that means the same store from any working directory: a relative
    ``sqlite:///mlflow.db`` or ``file:`` path, or a bare path, made absolute (a Hydra
    job runs in its own directory, a SLURM job on another host)."""
    if not uri:
        return uri
    lower = uri.lower()
    if lower.startswith("sqlite:///") and not lower.startswith("sqlite:////"):
        path = uri[len("sqlite:///"):]
        if path and path != ":memory:" and not path.startswith("?"):
            return "sqlite:///" + os.path.abspath(path)
        return uri
    if lower.startswith("file:") and not lower.startswith("file:/"):
        return "file://" + os.path.abspath(uri[len("file:"):])
    if "://" not in uri and not lower.startswith(("databricks", "file:", "sqlite:")):
        return "file://" + os.path.abspath(uri)
    return uri

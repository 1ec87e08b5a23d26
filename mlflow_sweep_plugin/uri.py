"""Tracking URI helpers: resolve the default, and never print credentials."""

from __future__ import annotations

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


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The URI given, else ``MLFLOW_TRACKING_URI``, else MLflow's own default."""
    if uri:
        return uri
    import mlflow

    return mlflow.get_tracking_uri()

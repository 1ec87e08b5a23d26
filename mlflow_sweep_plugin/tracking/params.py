"""Log a config as params: few requests, safe to repeat, loud when a value changes.

MLflow params are immutable. Re-logging the same value is harmless, but a resumed
job that logs a *different* value gets a terse store error, possibly after part of
the batch went in. :func:`log_config` reads the run's params once, refuses a change
before logging anything (naming the key, the old and the new value), skips what is
already there, and sends the rest with ``log_batch`` (100 params per request): a
fresh 1000-key config costs 1 + 10 requests instead of 1000.

Secrets are not params: keys that look like credentials (``password``, ``token``,
``api_key``, ...; see :mod:`.redact`) are logged as ``***`` and are ``***`` in the
config YAML artifact too.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import SweepError
from .flatten import DEFAULT_CONFIG_ARTIFACT, MAX_VALUE_LENGTH, config_yaml, flatten_config_details
from .keys import metric_name, shorten
from .redact import redactor
from .sink import resolve_sink


class ParamChanged(SweepError, ValueError):
    """A param was already logged on the run with a different value.

    ``changes`` lists ``(key, old, new)``. Nothing of the batch was logged.
    """

    def __init__(self, run_id: str, changes: list):
        self.run_id = run_id
        self.changes = changes
        shown = "; ".join(f"{k!r}: logged {_clip(old)!r}, now {_clip(new)!r}"
                          for k, old, new in changes[:10])
        more = f" (and {len(changes) - 10} more)" if len(changes) > 10 else ""
        super().__init__(
            f"run {run_id}: param value changed, and MLflow params cannot change: {shown}{more}. "
            "Log the new config in a new run, or log changing values as metrics or tags.")


def _clip(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[:n] + "..."


def log_params_checked(sink, params: dict) -> dict:
    """Log ``params`` on ``sink``'s run: skip those already there with the same value,
    raise :class:`ParamChanged` (logging nothing) if any value differs. Returns the
    params that were new."""
    params = {k: str(v) for k, v in params.items()}
    existing = sink.existing_params() if params else {}
    changes = [(k, existing[k], v) for k, v in params.items() if k in existing and existing[k] != v]
    if changes:
        raise ParamChanged(sink.run_id or "(spooled)", changes)
    new = {k: v for k, v in params.items() if k not in existing}
    if new:
        sink.log_batch(params=new)
    return new


def config_artifact_path(prefix: str | None) -> str:
    if not prefix:
        return DEFAULT_CONFIG_ARTIFACT
    return f"mlflow_sweep/config-{metric_name([prefix])}.yaml"


def log_text_artifact(sink, text: str, artifact_file: str) -> None:
    """Write ``text`` to a temp file named like ``artifact_file`` and log it there."""
    directory, name = os.path.split(artifact_file)
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-") as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        sink.log_artifact(path, directory or None)


def log_config(cfg, prefix: str | None = None, run_id: str | None = None, *, sep: str = ".",
               config_artifact: bool | None = None,
               max_value_length: int = MAX_VALUE_LENGTH, client=None, redact=None) -> dict[str, str]:
    """Flatten ``cfg`` (see :func:`flatten_config`) and log it as params of the run.

    - ``prefix``: put every key under it (``prefix="SVGD"`` -> ``SVGD.n_particles``).
    - ``run_id``: default the active :func:`sweep_run`, else MLflow's active run.
    - Same values again (a resumed run): no-op. A changed value raises
      :class:`ParamChanged` naming key, old and new value, and logs nothing.
    - ``config_artifact``: also log the whole config as YAML
      (``mlflow_sweep/config.yaml``, or ``mlflow_sweep/config-<prefix>.yaml``). Default
      ``None``: only when the params cannot hold it all (a value was truncated, or a
      list item contains a comma); truncated values name that artifact.
    - ``client``: the ``MlflowClient`` to log ``run_id`` through (a store other than
      MLflow's current tracking URI).
    - ``redact``: keys whose last segment looks like a credential (``password``,
      ``pass``, ``passwd``, ``secret``, ``token``, ``api_key``, ``apikey``,
      ``access_key``, ``private_key``, ``secret_key``, ``credentials``; case-insensitive,
      also as a suffix: ``db_password``) are logged as ``***`` and never written to the
      YAML artifact. Default ``None``: that list; a list of names or ``fnmatch``
      patterns extends it (``redact=("hf_*",)``); ``redact=()`` turns it off.

    Returns the params (flattened keys and the text logged).
    """
    artifact = config_artifact_path(prefix)
    secrets = redactor(redact)
    flat = flatten_config_details(cfg, sep, max_value_length=max_value_length,
                                  artifact_path=artifact, redact=secrets if secrets else ())
    params = flat.params
    if prefix:
        head = metric_name([prefix])
        params = {shorten(f"{head}{sep}{k}"): v for k, v in params.items()}
    sink = resolve_sink(run_id, client)
    log_params_checked(sink, params)
    if config_artifact or (config_artifact is None and not flat.complete):
        log_text_artifact(sink, config_yaml(cfg, redact=secrets if secrets else ()), artifact)
    return params

"""Nested configs -> flat MLflow params, without losing anything.

MLflow params are flat ``str -> str`` pairs with limits on key characters, key length
(250) and value length (6000). Research configs are nested dicts, lists, dataclasses
and OmegaConf objects. :func:`flatten_config` maps one onto the other the way the teams'
helpers did (dotted keys, lists of scalars as comma-separated strings) and makes it
lossless: keys are escaped reversibly (see :mod:`.keys`), a value that is too long is
cut with a marker naming the artifact that holds it whole, and :func:`config_yaml`
renders the whole config for that artifact.

Value rules (the same text ``mlflow.log_param`` would log: ``str(value)``):

- nested mappings -> ``a.b.c`` keys; an empty mapping -> ``"{}"``;
- lists, tuples and sets of scalars -> ``"1,2,3"``; an empty one -> ``"[]"``;
- lists holding mappings or lists -> indexed keys ``layers.0.units``;
- dataclasses, namedtuples, ``argparse.Namespace``, pydantic models, OmegaConf
  ``DictConfig``/``ListConfig`` (interpolations resolved when they can be) -> mappings
  or lists; numpy arrays -> lists; everything else -> ``str(value)``;
- a key that looks like a credential (``db.pass``, ``api_key``; see :mod:`.redact`)
  -> ``***``, unless ``redact=()``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import yaml

from .keys import join_key
from .redact import REDACTED, redact_data, redact_overrides_text, redactor

MAX_VALUE_LENGTH = 6000  # mlflow.utils.validation.MAX_PARAM_VAL_LENGTH (MLflow >= 2.x)
DEFAULT_CONFIG_ARTIFACT = "mlflow_sweep/config.yaml"
_SCALARS = (str, int, float, bool, bytes, type(None))


def _is_omegaconf(obj) -> bool:
    return type(obj).__module__.startswith("omegaconf")


def _container(obj):
    """A dict or list standing for ``obj``, or ``obj`` itself when it is a leaf."""
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, (list, tuple)):
        if hasattr(obj, "_asdict"):  # namedtuple
            return dict(obj._asdict())
        return list(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if isinstance(obj, _SCALARS):
        return obj
    if _is_omegaconf(obj):
        from omegaconf import OmegaConf  # optional (Hydra's), and only for its configs

        try:
            return OmegaConf.to_container(obj, resolve=True)
        except Exception:  # noqa: BLE001 - an unresolvable interpolation: keep it as text
            return OmegaConf.to_container(obj, resolve=False)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "model_dump") and callable(obj.model_dump):  # pydantic v2
        return obj.model_dump()
    if hasattr(obj, "tolist") and getattr(obj, "ndim", 0):  # numpy arrays
        return obj.tolist()
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalars
        return obj.item()
    if type(obj).__name__ == "Namespace" and hasattr(obj, "__dict__"):  # argparse
        return dict(vars(obj))
    if hasattr(obj, "items") and callable(obj.items):  # other mappings
        return dict(obj.items())
    return obj


def _is_leaf(value) -> bool:
    return not isinstance(value, (dict, list))


@dataclass
class FlatConfig:
    """What :func:`flatten_config_details` produced: the params and what did not fit."""

    params: dict = field(default_factory=dict)
    truncated: list = field(default_factory=list)  # keys whose value was cut
    redacted: list = field(default_factory=list)  # keys logged as *** (credentials)
    lossy: list = field(default_factory=list)  # keys whose text does not round-trip

    @property
    def complete(self) -> bool:
        """True when the params alone hold the whole config."""
        return not self.truncated and not self.lossy


def truncate_value(value: str, max_length: int, artifact_path: str) -> str:
    """Cut ``value`` to ``max_length`` with a marker naming its length, a digest (so a
    changed tail is still a changed param) and the artifact holding the whole value."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    marker = (f"...[truncated: {len(value)} chars, sha256 {digest}; "
              f"full value in artifact {artifact_path}]")
    return value[:max(0, max_length - len(marker))] + marker


def flatten_config_details(cfg, sep: str = ".", *, max_value_length: int = MAX_VALUE_LENGTH,
                           artifact_path: str = DEFAULT_CONFIG_ARTIFACT, redact=None) -> FlatConfig:
    """:func:`flatten_config`, also saying which keys were truncated, are lossy or were
    redacted."""
    result = FlatConfig()
    secrets = redactor(redact)
    root = _container(cfg)
    if _is_leaf(root):
        raise TypeError(f"flatten_config needs a mapping or a sequence, got {type(cfg).__name__}")

    def emit(path, text: str, lossy: bool = False):
        key = join_key(path, sep)
        if key in result.params:
            lossy = True  # e.g. {1: ..., "1": ...}: both keys print as "1"
        if len(text) > max_value_length:
            text = truncate_value(text, max_value_length, artifact_path)
            result.truncated.append(key)
        if lossy:
            result.lossy.append(key)
        result.params[key] = text

    def walk(value, path):
        value = _container(value)
        if isinstance(value, dict):
            if not value and path:
                emit(path, "{}")
            for k, v in value.items():
                if secrets is not None and secrets.matches(k, leaf=_is_leaf(_container(v))):
                    emit(path + [str(k)], REDACTED)
                    result.redacted.append(join_key(path + [str(k)], sep))
                    continue
                walk(v, path + [str(k)])
        elif isinstance(value, list):
            items = [_container(v) for v in value]
            if not items:
                emit(path, "[]")
            elif all(_is_leaf(v) for v in items):
                texts = [str(v) for v in items]
                emit(path, ",".join(texts), lossy=any("," in t for t in texts))
            else:
                for i, v in enumerate(value):
                    walk(v, path + [str(i)])
        else:
            text = str(value)
            if secrets is not None and isinstance(value, str) and "=" in text:
                text = redact_overrides_text(text, secrets)  # "host=x password=y"
            emit(path, text)

    walk(root, [])
    return result


def flatten_config(cfg, sep: str = ".", *, max_value_length: int = MAX_VALUE_LENGTH,
                   artifact_path: str = DEFAULT_CONFIG_ARTIFACT, redact=None) -> dict[str, str]:
    """Flatten a nested config into ``{dotted.key: text}`` params MLflow accepts.

    ``{"model": {"lr": 0.1, "layers": [64, 32]}, "cuda:0": True}`` ->
    ``{"model.lr": "0.1", "model.layers": "64,32", "cuda_-3A0": "True"}``.
    Keys are escaped reversibly (:func:`mlflow_sweep_plugin.tracking.keys.split_key`
    gives the original path back); values longer than ``max_value_length`` end with a
    ``...[truncated: ...; full value in artifact <artifact_path>]`` marker. Keys that
    look like credentials are ``***`` (``redact``: see :mod:`.redact`; ``()`` turns it
    off).
    """
    return flatten_config_details(cfg, sep, max_value_length=max_value_length,
                                  artifact_path=artifact_path, redact=redact).params


def to_plain(obj):
    """``obj`` as plain YAML-safe data (dicts, lists, scalars), recursively."""
    value = _container(obj)
    if isinstance(value, dict):
        return {(k if isinstance(k, (str, int, float, bool)) else str(k)): to_plain(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return str(value)


def config_yaml(cfg, redact=()) -> str:
    """The whole config as YAML (the artifact truncated params point to); secrets as
    ``***`` when ``redact`` asks for it (:func:`log_config` does by default)."""
    return yaml.safe_dump(redact_data(to_plain(cfg), redactor(redact)), sort_keys=False,
                          allow_unicode=True, default_flow_style=False)

"""The plugin manager: entry-point plugins, guarded loading.

External plugins are loaded in exactly one place (:func:`load_external_plugins`), one
entry point at a time, so a plugin that fails to import costs one warning naming it and
the error, and every other plugin still works.

Environment switches (as in tox and datasette):

- ``MLFLOW_SWEEP_DISABLE_PLUGINS``: comma-separated entry point names (or distribution
  names) not to load, or ``*`` for all external plugins.
- ``MLFLOW_SWEEP_TRACE_PLUGINS=1``: log every hook call and its result on stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import UsageError
from .hookspecs import PROJECT_NAME
from .parsers import Parser
from .warning_types import PluginLoadWarning, warn

__all__ = ["PluginInfo", "PluginLoadWarning", "Registered", "SweepPluginManager",
           "get_plugin_manager", "load_external_plugins", "reset_plugin_manager"]

ENTRY_POINT_GROUP = PROJECT_NAME
DISABLE_ENV = "MLFLOW_SWEEP_DISABLE_PLUGINS"
TRACE_ENV = "MLFLOW_SWEEP_TRACE_PLUGINS"


@dataclass
class PluginInfo:
    """One ``mlflow_sweep`` entry point: its distribution and, if it failed, why."""

    name: str
    dist: str = ""
    version: str = ""
    module: str = ""
    error: str = ""


def _disabled() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points():
    try:
        return list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    except TypeError:  # pragma: no cover - Python < 3.10 style API
        return list(metadata.entry_points().get(ENTRY_POINT_GROUP, []))


def load_external_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Register every ``mlflow_sweep`` entry point that loads; warn once for each that doesn't."""
    disabled = _disabled()
    infos = []
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            dist=dist.metadata["Name"] if dist is not None else "",
            version=dist.version if dist is not None else "",
            module=ep.value,
        )
        if "*" in disabled or ep.name in disabled or (info.dist and info.dist in disabled):
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any failure of a third party's import
            info.error = f"{type(exc).__name__}: {exc}"
            warn(PluginLoadWarning(
                f"plugin {ep.name!r} ({info.dist or ep.value}) could not be loaded and is "
                f"skipped: {info.error}"))
        infos.append(info)
    return infos


def _trace_writer(message: str) -> None:
    from .console import visible  # console imports click: only when tracing

    sys.stderr.write(visible(f"[mlflow-sweep trace] {message}".rstrip("\n")) + "\n")


class SweepPluginManager:
    """A pluggy manager plus the parsers and demos its plugins registered.

    Tests and the pytest harness build their own instance with extra plugin objects;
    the CLI uses :func:`get_plugin_manager`.
    """

    def __init__(self, extra_plugins=(), load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        if os.environ.get(TRACE_ENV, "").lower() in ("1", "true", "yes", "on"):
            self.pm.trace.root.setwriter(_trace_writer)
            self.pm.enable_tracing()
        # the core registers no hooks itself: it knows no project's format (the generic
        # parser is made per --artifact option)
        self.external = load_external_plugins(self.pm) if load_entry_points else []
        for i, plugin in enumerate(extra_plugins):
            name = getattr(plugin, "__name__", None) or f"extra-{i}"
            # an extra plugin may also be installed (entry point): register it once
            if self.pm.get_plugin(name) is None and not self.pm.is_registered(plugin):
                self.pm.register(plugin, name=name)
        self._parsers: dict[str, Parser] | None = None
        self._demos: dict | None = None
        self._loggers: dict | None = None

    def _plugin_label(self, plugin) -> tuple[str, str]:
        name = self.pm.get_name(plugin) or ""
        for info in self.external:
            if info.name == name:
                return info.dist or name, info.version
        return name, ""

    def _collect(self, hook_name: str, build):
        """Call a register-callback hook once per plugin, tagging each item with its plugin."""
        collected: dict = {}
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            label, version = self._plugin_label(impl.plugin)

            def register(*args, _label=label, _version=version, **kwargs):
                item = build(*args, plugin=_label, plugin_version=_version, **kwargs)
                if item.name in collected:
                    warn(PluginLoadWarning(
                        f"{hook_name}: {item.name!r} from {_label} replaces the one from "
                        f"{collected[item.name].plugin}"))
                collected[item.name] = item

            try:
                # call this plugin's implementation alone, through pluggy so tracing sees it
                self.pm.subset_hook_caller(
                    hook_name, [p for p in self.pm.get_plugins() if p is not impl.plugin]
                )(register=register)
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the others
                warn(PluginLoadWarning(
                    f"plugin {label!r} failed in {hook_name}: {type(exc).__name__}: {exc}"))
        return collected

    @property
    def parsers(self) -> dict[str, Parser]:
        if self._parsers is None:
            self._parsers = self._collect("sweep_register_parsers", _build_parser)
        return self._parsers

    @property
    def demos(self) -> dict:
        if self._demos is None:
            self._demos = self._collect("sweep_register_demos", _build_registered("demo"))
        return self._demos

    @property
    def loggers(self) -> dict:
        """Result loggers by kind (``sweep_register_loggers``; see ``tracking/results.py``)."""
        if self._loggers is None:
            self._loggers = self._collect("sweep_register_loggers",
                                          _build_registered("result logger"))
        return self._loggers

    def select_parsers(self, names=None) -> list[Parser]:
        """The parsers named (all when ``names`` is empty); unknown names are a usage error."""
        if not names:
            return list(self.parsers.values())
        unknown = [n for n in names if n not in self.parsers]
        if unknown:
            raise UsageError(
                f"unknown parser(s): {', '.join(unknown)}; installed: "
                f"{', '.join(sorted(self.parsers)) or '(none)'}"
            )
        return [self.parsers[n] for n in names]

    def describe(self) -> list[dict]:
        """What ``mlflow-sweep plugins`` shows: one entry per plugin."""
        by_plugin: dict[str, dict] = {}
        for info in self.external:
            by_plugin[info.dist or info.name] = {
                "name": info.name,
                "distribution": info.dist,
                "version": info.version,
                "module": info.module,
                "error": info.error or None,
                "parsers": [],
                "demos": [],
                "loggers": [],
            }
        for parser in self.parsers.values():
            entry = by_plugin.setdefault(parser.plugin, {
                "name": parser.plugin, "distribution": "", "version": parser.plugin_version,
                "module": "", "error": None, "parsers": [], "demos": [], "loggers": [],
            })
            entry["parsers"].append(parser.describe())
        for demo in self.demos.values():
            if demo.plugin in by_plugin:
                by_plugin[demo.plugin]["demos"].append(demo.name)
        for logger in self.loggers.values():
            if logger.plugin in by_plugin:
                by_plugin[logger.plugin]["loggers"].append(logger.name)
        return sorted(by_plugin.values(), key=lambda e: e["name"])


def _build_parser(name, pattern, parse, *, plugin, plugin_version, version="1", loader=None,
                  description="", keys=(), seed=None, outcomes=(), descriptors=()):
    return Parser(name=name, pattern=pattern, parse=parse, version=str(version), loader=loader,
                  description=description, plugin=plugin, plugin_version=plugin_version,
                  keys=tuple(keys), seed=seed, outcomes=tuple(outcomes), descriptors=tuple(descriptors))


@dataclass
class Registered:
    """A named function a plugin registered: a demo (``sweep_register_demos``) or a
    result logger (``sweep_register_loggers``, where ``name`` is the result kind)."""

    name: str
    func: object
    description: str = ""
    plugin: str = ""
    plugin_version: str = ""
    #: a demo's report options (``objective``, ``mode``)
    report: dict = field(default_factory=dict)


def _build_registered(what: str):
    """The ``register`` builder for a register-callback hook of named functions."""

    def build(name, func, *, plugin, plugin_version, description=""):
        if not name or not isinstance(name, str):
            raise ValueError(f"a {what} needs a non-empty name")
        if not callable(func):
            raise TypeError(f"{what} {name!r}: must be callable")
        return Registered(name, func, description, plugin, plugin_version)

    if what != "demo":
        return build

    def build_demo(name, func, *, plugin, plugin_version, description="", report=None):
        item = build(name, func, plugin=plugin, plugin_version=plugin_version, description=description)
        item.report = dict(report or {})
        return item

    return build_demo


_MANAGER: SweepPluginManager | None = None


def get_plugin_manager() -> SweepPluginManager:
    """The process-wide manager (built on first use, never at import time)."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = SweepPluginManager()
    return _MANAGER


def reset_plugin_manager() -> None:
    """Forget the cached manager (tests change the environment switches)."""
    global _MANAGER
    _MANAGER = None

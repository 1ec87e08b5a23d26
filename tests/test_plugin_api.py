"""The plugin author's API: the typed ``register`` callbacks, the public names, the warnings."""

from __future__ import annotations

import importlib
import inspect
import typing
import warnings

import pytest

import mlflow_sweep_plugin
from mlflow_sweep_plugin import hookspecs, plugins
from mlflow_sweep_plugin.warning_types import PluginLoadWarning, SweepWarning

REGISTERS = {
    "sweep_register_parsers": (hookspecs.ParserRegister, plugins._build_parser),
    "sweep_register_demos": (hookspecs.DemoRegister, plugins._build_registered("demo")),
    "sweep_register_loggers": (hookspecs.LoggerRegister, plugins._build_registered("logger")),
}


def _params(fn):
    """(positional parameters, keyword-only parameters with their defaults) of ``fn``."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional, {p.name: p.default for p in params if p.kind == p.KEYWORD_ONLY}


@pytest.mark.parametrize("hook", sorted(REGISTERS))
def test_each_hook_is_typed_by_the_protocol_of_what_register_accepts(hook):
    protocol, build = REGISTERS[hook]
    spec = getattr(hookspecs, hook)
    assert typing.get_type_hints(spec)["register"] is protocol
    # the Protocol promises no more than the manager's register takes
    got_positional, got_keywords = _params(protocol.__call__)
    want_positional, want_keywords = _params(build)
    want_keywords = {k: v for k, v in want_keywords.items() if k not in ("plugin", "plugin_version")}
    assert len(got_positional) == len(want_positional) and got_keywords == want_keywords
    for got, want in zip(got_positional, want_positional):
        if got.kind == got.POSITIONAL_OR_KEYWORD:  # may be passed by name: the same name
            assert (got.name, got.kind) == (want.name, want.kind)


@pytest.mark.parametrize("module", ["mlflow_sweep_clustering.plugin", "mlflow_sweep_som.plugin",
                                    "mlflow_sweep_causal.plugin"])
def test_reference_plugins_annotate_register(module):
    plugin = importlib.import_module(module)
    for hook, (protocol, _) in REGISTERS.items():
        impl = getattr(plugin, hook, None)
        if impl is not None:
            assert typing.get_type_hints(impl)["register"] is protocol, (module, hook)


def test_protocols_are_public():
    for name in ("ParserRegister", "DemoRegister", "LoggerRegister"):
        assert getattr(mlflow_sweep_plugin, name) is getattr(hookspecs, name)
        assert name in dir(mlflow_sweep_plugin)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mlflow_sweep_plugin.nope  # noqa: B018


def test_plugin_packages_import_their_api_plainly():
    import mlflow_sweep_causal
    import mlflow_sweep_som

    for package in (mlflow_sweep_som, mlflow_sweep_causal):
        assert "__getattr__" not in vars(package)  # no lazy table: an entry point imports it anyway
        for name in package.__all__:
            assert name in vars(package), (package.__name__, name)


def test_plugin_load_warning_is_the_channels():
    assert plugins.PluginLoadWarning is PluginLoadWarning and issubclass(PluginLoadWarning, SweepWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class Raising:
            @staticmethod
            @hookspecs.hookimpl
            def sweep_register_parsers(register):
                raise RuntimeError("bug")

        assert plugins.SweepPluginManager([Raising], load_entry_points=False).parsers == {}
    [w] = [w for w in caught if issubclass(w.category, SweepWarning)]
    assert w.category is PluginLoadWarning
    assert str(w.message) == "plugin 'Raising' failed in sweep_register_parsers: RuntimeError: bug"

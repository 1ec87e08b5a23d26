"""mlflow_sweep_plugin.hookspecs: the plugin author's reference — every hook documented,
named ``sweep_*``, taking one typed ``register``; pluggy validates plugins against it."""

from __future__ import annotations

import inspect

import pluggy
import pytest

from mlflow_sweep_plugin import hookspecs


def _specs():
    return {name: fn for name, fn in vars(hookspecs).items()
            if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT_NAME}_spec")}


def test_there_are_the_three_hooks():
    assert set(_specs()) == {"sweep_register_parsers", "sweep_register_demos", "sweep_register_loggers"}


@pytest.mark.parametrize("name", sorted(_specs()))
def test_every_hook_is_documented_and_takes_one_typed_register(name):
    fn = _specs()[name]
    doc = inspect.getdoc(fn)
    assert doc and len(doc.splitlines()) >= 5 and "register(" in doc
    params = inspect.signature(fn).parameters
    assert list(params) == ["register"]
    protocol = getattr(hookspecs, params["register"].annotation)
    assert inspect.getdoc(protocol) and callable(protocol)


def _manager():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def test_a_plugin_registers_through_the_hooks():
    class Plugin:
        @hookspecs.hookimpl
        def sweep_register_parsers(self, register):
            register("scores", "eval/{split}/scores.json", lambda content, ctx: [content], version="2")

    pm = _manager()
    pm.register(Plugin())
    calls = []
    pm.hook.sweep_register_parsers(register=lambda *a, **k: calls.append((a, k)))
    assert calls[0][0][:2] == ("scores", "eval/{split}/scores.json") and calls[0][1] == {"version": "2"}


def test_a_hook_asking_for_an_argument_the_spec_does_not_have_is_refused():
    class Wrong:
        @hookspecs.hookimpl
        def sweep_register_demos(self, register, experiment):
            pass

    with pytest.raises(pluggy.PluginValidationError):
        _manager().register(Wrong())


def test_a_misnamed_hook_is_reported_by_check_pending():
    class Typo:
        @hookspecs.hookimpl
        def sweep_register_parser(self, register):
            pass

    pm = _manager()
    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()

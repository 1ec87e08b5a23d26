"""The parsers' public checks (mlflow_sweep_plugin.parsers.checks): values and messages."""

from __future__ import annotations

import math

import pytest

from mlflow_sweep_plugin import BadArtifact
from mlflow_sweep_plugin.parsers import checks


def _reason(fn, *args, **kwargs) -> str:
    with pytest.raises(BadArtifact) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_show_is_json_cut_at_60_characters():
    assert checks.show("high") == '"high"'
    assert checks.show(None) == "null" and checks.show(True) == "true"
    assert checks.show(math.nan) == "NaN"
    assert checks.show(list(range(100))) == "[" + ", ".join(map(str, range(100)))[:59]
    assert len(checks.show("x" * 200)) == 60
    assert checks.show({1, 2}) == '"{1, 2}"'  # what JSON cannot write is shown as str()


def test_number_accepts_numbers_and_none():
    assert checks.number(3, "a") == 3 and isinstance(checks.number(3, "a"), int)
    assert checks.number(0.5, "a") == 0.5
    assert math.isnan(checks.number(math.nan, "a"))  # bare NaN in research JSON is a number
    assert checks.number(None, "a") is None


@pytest.mark.parametrize("value, shown", [("high", '"high"'), (True, "true"), ([1], "[1]"),
                                          ({"x": 1}, '{"x": 1}')])
def test_number_rejects_everything_else(value, shown):
    assert _reason(checks.number, value, "scores.acc") == f"scores.acc: expected a number, got {shown}"


def test_number_allow_none_false():
    assert _reason(checks.number, None, "k", allow_none=False) == "k: expected a number, got null"


def test_number_integer_true_wants_a_whole_number():
    assert checks.number(3.0, "n", integer=True) == 3 and isinstance(checks.number(3.0, "n", integer=True), int)
    assert checks.number(4, "n", integer=True) == 4
    assert checks.number(None, "n", integer=True) is None
    assert _reason(checks.number, 2.5, "n", integer=True) == "n: expected an integer, got 2.5"
    assert _reason(checks.number, "3", "n", integer=True) == 'n: expected a number, got "3"'
    assert _reason(checks.number, math.inf, "n", integer=True) == "n: expected an integer, got Infinity"


def test_floating_gives_floats():
    assert checks.floating(3, "a") == 3.0 and isinstance(checks.floating(3, "a"), float)
    assert checks.floating(None, "a") is None
    assert _reason(checks.floating, "x", "a") == 'a: expected a number, got "x"'
    assert _reason(checks.floating, None, "a", allow_none=False) == "a: expected a number, got null"


def test_integer():
    assert checks.integer(7, "k") == 7
    assert checks.integer(7.0, "k") == 7 and isinstance(checks.integer(7.0, "k"), int)
    assert checks.integer(None, "k") is None
    for value, shown in [(7.5, "7.5"), ("7", '"7"'), (True, "true"), (math.nan, "NaN")]:
        assert _reason(checks.integer, value, "k") == f"k: expected an integer, got {shown}"
    assert _reason(checks.integer, None, "k", allow_none=False) == "k: expected an integer, got null"


def test_text():
    assert checks.text("wanda", "config.method") == "wanda"
    assert checks.text(None, "config.method") is None
    assert _reason(checks.text, 3, "config.method") == "config.method: expected text, got 3"
    assert _reason(checks.text, None, "m", allow_none=False) == "m: expected text, got null"


def test_mapping():
    data = {"a": 1}
    assert checks.mapping(data, "top level") is data
    assert _reason(checks.mapping, [1], "top level") == "top level: expected an object, got list"
    assert _reason(checks.mapping, None, "fits") == "fits: expected an object, got NoneType"


def test_section():
    data = {"config": {"x": 1}, "executions": [], "name": "m"}
    assert checks.section(data, "config") == {"x": 1}
    assert checks.section(data, "executions", types=(dict, list)) == []
    assert _reason(checks.section, data, "matrix") == "missing section 'matrix'"
    assert _reason(checks.section, data, "executions") == "executions: expected an object, got list"
    assert _reason(checks.section, data, "name", types=(dict, list)) == "name: expected an object, got str"


def test_bad_artifact_is_what_the_exporter_reports(make_sweep, sweep_exporter):
    """A parser built on the checks holds to the bad-input contract end to end."""
    import types

    from mlflow_sweep_plugin import hookimpl

    def parse(data, ctx):
        data = checks.mapping(data, "top level")
        yield {"acc": checks.number(data.get("acc"), "acc", allow_none=False)}

    @hookimpl
    def sweep_register_parsers(register):
        register("scores", "scores.json", parse)

    plugin = types.ModuleType("checked_scores")
    plugin.sweep_register_parsers = sweep_register_parsers
    sweep = make_sweep([{"artifacts": {"scores.json": {"acc": 0.5}}},
                        {"artifacts": {"scores.json": {"acc": "high"}}}])
    result = sweep_exporter(plugins=[plugin], load_entry_points=False, parser_names=["scores"])
    assert [str(w) for w in result.warnings] == [
        f'run {sweep.run_ids[1]}, artifact scores.json (parser scores): acc: expected a number, got "high"']
    assert sorted(result.df["acc"].dropna()) == [0.5]

"""mlflow_sweep_plugin.parsers.base: a Parser is checked when made; its cache key moves
with anything that changes its rows; ParseContext reads the run's other files."""

from __future__ import annotations

import dataclasses

import pytest

from mlflow_sweep_plugin.parsers import ParseContext, Parser
from mlflow_sweep_plugin.parsers.base import compiled_pattern
from mlflow_sweep_plugin.parsers.loaders import load_json, load_yaml


def parse_scores(content, ctx):
    """Scores per split.

    More text."""
    return [content]


def test_a_parser_is_checked_when_made():
    with pytest.raises(ValueError, match="non-empty name"):
        Parser("", "x.json", parse_scores)
    with pytest.raises(TypeError, match="must be callable"):
        Parser("p", "x.json", "not callable")
    with pytest.raises(ValueError, match="unknown loader"):
        Parser("p", "x.json", parse_scores, loader="pickle")


def test_the_loader_follows_the_pattern_unless_given():
    assert Parser("p", "eval/{split}/s.json", parse_scores).load is load_json
    assert Parser("p", "eval/{split}/s.json", parse_scores, loader="yaml").load is load_yaml


@pytest.mark.parametrize("field, value", [("version", "2"), ("pattern", "other/{x}.json"),
                                          ("plugin", "other"), ("plugin_version", "9"), ("name", "q")])
def test_the_cache_key_changes_with_whatever_changes_the_rows(field, value):
    base = Parser("p", "eval/{split}/s.json", parse_scores, plugin="mine", plugin_version="1.0")
    assert dataclasses.replace(base, **{field: value}).cache_key != base.cache_key
    assert dataclasses.replace(base, description="new words").cache_key == base.cache_key


def test_describe_falls_back_to_the_first_line_of_the_docstring():
    described = Parser("p", "s.json", parse_scores, plugin="mine").describe()
    assert described == {"name": "p", "pattern": "s.json", "version": "1", "plugin": "mine",
                         "description": "Scores per split."}
    assert Parser("p", "s.json", parse_scores, description="mine").describe()["description"] == "mine"


def test_patterns_are_compiled_once():
    assert compiled_pattern("a/{b}.json") is compiled_pattern("a/{b}.json")
    assert Parser("p", "a/{b}.json", parse_scores).compiled.match("a/7.json") == {"b": 7}


class _Reader:
    def __init__(self, files):
        self.files = files

    def list(self):
        return iter(self.files)

    def read(self, path):
        return self.files[path]


def test_parse_context_reads_and_lists_the_runs_other_files():
    ctx = ParseContext("r1", "a.json", _reader=_Reader({"a.json": b"{}", "b.npz": b"zz"}))
    assert ctx.list() == ["a.json", "b.npz"] and ctx.read("b.npz") == b"zz"
    alone = ParseContext("r1", "a.json")
    assert alone.list() == []
    with pytest.raises(FileNotFoundError):
        alone.read("b.npz")

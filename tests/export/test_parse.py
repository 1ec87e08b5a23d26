"""mlflow_sweep_plugin.export.parse: one run's files matched, parsed and bounded; bad
input is a warning naming run, path and parser, never an exception — on a real store."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.export.parse import RunOutcome, parse_artifact, read_run
from mlflow_sweep_plugin.export.session import ReadSession
from mlflow_sweep_plugin.limits import Limits, TooManyColumns
from mlflow_sweep_plugin.parsers import Parser


def scores(content, ctx):
    return [{"split": ctx.captures["split"], "acc": content["acc"], "lr": ctx.params.get("lr")}]


def strict(content, ctx):
    if "acc" not in content:
        raise BadArtifact("no acc")
    return {"acc2": content["acc"] * 2, "has_notes": "notes.txt" in ctx.list()}


@pytest.fixture
def run(make_sweep, sweep_store):
    sweep = make_sweep([{"params": {"lr": "0.1"}, "artifacts": {
        "eval/train/s.json": {"acc": 0.9}, "eval/test/s.json": {"acc": 0.7},
        "eval/val/s.json": {"wrong": 1}, "notes.txt": "hello", "big/blob.json": {"v": list(range(200))},
    }}])
    return sweep_store.client.get_run(sweep.run_ids[0])


def _session(*parsers, **kwargs):
    return ReadSession(list(parsers), **kwargs)


def test_every_matching_file_is_parsed_with_its_captures(run):
    outcome = read_run(run, _session(Parser("scores", "eval/{split}/s.json", scores, loader="json")))
    assert isinstance(outcome, RunOutcome)
    rows = sorted(outcome.records, key=lambda r: r["split"])
    assert rows[0] == {"split": "test", "acc": 0.7, "lr": "0.1"}
    assert [r["split"] for r in rows] == ["test", "train"]
    assert outcome.captures == ["split"] and outcome.files_read == 2
    assert len(outcome.warnings) == 1  # eval/val/s.json has no "acc"
    warning = outcome.warnings[0]
    assert (warning.run_id, warning.path, warning.parser) == (run.info.run_id, "eval/val/s.json", "scores")
    assert not outcome.read_failed


def test_a_bad_file_costs_only_itself(run):
    outcome = read_run(run, _session(Parser("strict", "eval/{split}/s.json", strict),
                                     Parser("notes", "notes.txt", lambda text, ctx: {"notes": text})))
    assert {r.get("notes") for r in outcome.records} == {None, "hello"}
    assert sum("acc2" in r for r in outcome.records) == 2
    assert all(r["has_notes"] for r in outcome.records if "acc2" in r)
    assert ["no acc" in str(w) for w in outcome.warnings] == [True]


def test_a_file_over_the_size_limit_is_not_parsed(run):
    outcome = read_run(run, _session(Parser("big", "big/blob.json", lambda c, ctx: {"n": len(c["v"])}),
                                     limits=Limits(max_artifact_bytes=200)))
    assert outcome.records == []
    assert "more than the limit of 200 bytes" in str(outcome.warnings[0])


def test_a_record_over_the_column_limit_gives_no_row(run):
    parser = Parser("scores", "eval/{split}/s.json", scores)
    with pytest.raises(TooManyColumns):
        parse_artifact(parser, None, run, "eval/train/s.json", {"split": "train"}, data=b'{"acc": 1}',
                       limits=Limits(max_columns=3))
    rows = parse_artifact(parser, None, run, "eval/train/s.json", {"split": "train"}, data=b'{"acc": 1}',
                          limits=Limits(max_columns=4))
    assert rows == [{"split": "train", "acc": 1, "lr": "0.1"}]


def test_a_parser_returning_something_else_than_dicts_is_bad_input(run):
    parser = Parser("odd", "notes.txt", lambda text, ctx: ["not a dict"])
    with pytest.raises(BadArtifact, match="expected a dict per record"):
        parse_artifact(parser, None, run, "notes.txt", {}, data=b"x")
    assert parse_artifact(Parser("none", "notes.txt", lambda t, c: None), None, run, "notes.txt", {},
                          data=b"x") == []


def test_a_run_whose_artifacts_cannot_be_listed_is_one_read_warning(run):
    class Broken:
        max_bytes = None

        def list(self):
            raise OSError("disk gone")

    outcome = read_run(run, _session(Parser("scores", "eval/{split}/s.json", scores)), reader=Broken())
    assert outcome.read_failed and outcome.records == []
    assert outcome.warnings[0].kind == "read" and "disk gone" in str(outcome.warnings[0])

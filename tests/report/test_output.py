"""``mlflow-sweep report -o DIR [--log-to RUN]``: the report writes, uploads and removes
only its own files (issue 23, items 1, 11 and 13), on a real sqlite store."""

from __future__ import annotations

import csv
import json
import os

import pytest

from mlflow_sweep_plugin.report.output import MANIFEST
from mlflow_sweep_plugin.testing import artifact_paths, report_files
from tmpfs_helpers import tmpfs

LOSS = {("a", 0): 0.50, ("a", 1): 0.61, ("b", 0): 0.30, ("b", 1): 0.36}


def loss_runs(opt_text=None):
    return [{"run_name": f"{o}-{s}", "params": {"opt": opt_text or o, "seed": s, "kind": o},
             "metrics": {"loss": v}} for (o, s), v in LOSS.items()]


@pytest.fixture
def sweep(make_sweep):
    make_sweep(loss_runs())
    return make_sweep([{"run_name": "holder"}], experiment_name="reports").run_ids[0]


def report(sweep_cli, *args):
    return sweep_cli("report", "--experiment-name", "sweep", "--max-plots", "1", *map(str, args))


def snapshot(directory) -> dict:
    """Every file under ``directory`` (links not followed) and its bytes."""
    out = {}
    for root, dirs, files in os.walk(directory):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory)
            out[rel] = os.readlink(path) if os.path.islink(path) else open(path, "rb").read()
    return out


def error_lines(res) -> list:
    return [line for line in res.stderr.splitlines() if "error" in line]


def test_a_directory_with_the_users_files_is_refused_and_nothing_is_uploaded(sweep, sweep_cli, sweep_store,
                                                                             tmp_path):
    out = tmp_path / "report"
    (out / "sub").mkdir(parents=True)
    (out / "private_notes.txt").write_text("mine")
    (out / "sub" / "id_rsa").write_text("secret")
    before = snapshot(out)
    res = report(sweep_cli, "--objective", "metrics.loss", "-o", out, "--log-to", sweep)
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert f"-o {out} holds files this command did not write" in line
    assert "private_notes.txt" in line and "sub/id_rsa" in line
    assert snapshot(out) == before  # nothing written, nothing removed
    assert artifact_paths(sweep_store.client, sweep) == []  # nothing uploaded
    assert not [t for t in sweep_store.client.get_run(sweep).data.tags if t.startswith("mlflow_sweep.")]


def test_output_dot_in_the_stores_directory_is_refused_without_recursing(sweep, sweep_cli, sweep_store,
                                                                         monkeypatch):
    root = sweep_store.root  # holds mlflow.db and the artifacts
    (root / ".env").write_text("TOKEN=x")
    (root / "plots").mkdir()
    (root / "plots" / "fig1.png").write_bytes(b"\x89PNG mine")
    (root / "best.json").write_text('{"mine": true}')
    names_before = set(snapshot(root)) - {"mlflow.db"}
    monkeypatch.chdir(root)
    res = report(sweep_cli, "--objective", "metrics.loss", "-o", ".", "--log-to", sweep)
    assert res.exit_code == 2, res.stderr
    assert "holds files this command did not write" in res.stderr and "Traceback" not in res.stderr
    after = snapshot(root)
    assert set(after) - {"mlflow.db"} == names_before  # no copy of itself, nothing removed
    assert after["best.json"] == b'{"mine": true}' and after["plots/fig1.png"] == b"\x89PNG mine"
    assert artifact_paths(sweep_store.client, sweep) == []


def test_a_second_report_replaces_only_its_own_files(sweep, sweep_cli, tmp_path):
    out = tmp_path / "r"
    assert report(sweep_cli, "--objective", "metrics.loss", "-o", out).exit_code == 0
    first = json.loads((out / MANIFEST).read_text())["files"]
    assert "best.json" in first and any(f.startswith("plots/") for f in first)
    res = report(sweep_cli, "-o", out, "--max-plots", "0")  # no objective, no plots this time
    assert res.exit_code == 0, res.stderr
    second = json.loads((out / MANIFEST).read_text())["files"]
    assert not (out / "best.json").exists()
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["run_matrix.png", "run_matrix.svg"]
    assert set(snapshot(out)) == set(second) | {MANIFEST}
    # a file of the user's beside the report: the next report is refused, the file kept
    (out / "notes.txt").write_text("mine")
    res = report(sweep_cli, "-o", out)
    assert res.exit_code == 2 and "notes.txt" in res.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / MANIFEST).read_text())["files"] == second


def test_the_users_own_report_named_files_without_a_manifest_are_kept(sweep, sweep_cli, tmp_path):
    out = tmp_path / "mine"
    (out / "plots").mkdir(parents=True)
    (out / "plots" / "fig1.png").write_bytes(b"png")
    (out / "best.json").write_text("{}")
    res = report(sweep_cli, "--objective", "metrics.loss", "-o", out)
    assert res.exit_code == 2
    assert snapshot(out) == {"plots/fig1.png": b"png", "best.json": b"{}"}


def test_a_manifest_naming_files_outside_the_directory_is_not_believed(sweep, sweep_cli, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    out = tmp_path / "r"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": ["../outside.txt"]}))
    (out / "x.txt").write_text("mine")
    res = report(sweep_cli, "-o", out)
    assert res.exit_code == 2 and "x.txt" in res.stderr
    assert outside.read_text() == "keep me" and (out / "x.txt").read_text() == "mine"


def test_a_link_in_the_directory_is_an_entry_never_followed(sweep, sweep_cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.txt").write_text("keep")
    out = tmp_path / "r"
    assert report(sweep_cli, "-o", out).exit_code == 0
    (out / "plots").mkdir(exist_ok=True)
    (out / "plots" / "link").symlink_to(elsewhere)
    res = report(sweep_cli, "-o", out)
    assert res.exit_code == 2 and "plots/link" in res.stderr
    assert (elsewhere / "data.txt").read_text() == "keep"


def test_log_to_uploads_exactly_the_files_written(sweep, sweep_cli, sweep_store, tmp_path):
    out = tmp_path / "r"
    res = report(sweep_cli, "--objective", "metrics.loss", "-o", out, "--log-to", sweep)
    assert res.exit_code == 0, res.stderr
    written = set(json.loads((out / MANIFEST).read_text())["files"])
    assert report_files(sweep_store.client, sweep) == written
    where = sweep_store.client.get_run(sweep).data.tags["mlflow_sweep.report.path"]
    assert f"(artifacts under {where}/)" in res.stderr
    assert all(p.startswith(where + "/") for p in artifact_paths(sweep_store.client, sweep))


def test_output_onto_an_existing_file_is_exit_2_in_one_line(sweep, sweep_cli, tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("mine")
    res = report(sweep_cli, "-o", target)
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert f"-o {target}: a file of that name is there" in line
    assert target.read_text() == "mine"


def test_output_under_a_file_is_exit_2_in_one_line(sweep, sweep_cli, tmp_path):
    (tmp_path / "f").write_text("mine")
    res = report(sweep_cli, "-o", tmp_path / "f" / "r")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert "cannot write the report to" in line and "Not a directory" in line


def test_read_only_file_system_is_exit_2_in_one_line(sweep, sweep_cli, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        res = report(sweep_cli, "-o", ro / "r")
        assert res.exit_code == 2, res.stderr
        assert "Traceback" not in res.stderr
        (line,) = error_lines(res)
        assert "cannot write the report to" in line and "Read-only file system" in line


def test_full_disk_is_exit_2_in_one_line_and_leaves_nothing(sweep, sweep_cli, tmp_path):
    with tmpfs(tmp_path / "full", "size=64k") as full:
        res = report(sweep_cli, "--objective", "metrics.loss", "-o", full / "r")
        assert res.exit_code == 2, res.stderr
        assert "Traceback" not in res.stderr
        (line,) = error_lines(res)
        assert "cannot write the report to" in line and "No space left on device" in line
        assert snapshot(full / "r") == {}  # the staging directory is gone


def test_spreadsheet_safe_neutralises_formula_cells_in_summary_csv(make_sweep, sweep_cli, tmp_path):
    make_sweep(loss_runs(opt_text=None) + [
        {"run_name": "evil", "params": {"opt": '=HYPERLINK("http://x","y")', "seed": 0, "kind": "e"},
         "metrics": {"loss": 0.1}}])
    plain, safe = tmp_path / "plain", tmp_path / "safe"
    assert report(sweep_cli, "-o", plain, "--by", "opt").exit_code == 0
    assert report(sweep_cli, "-o", safe, "--by", "opt", "--spreadsheet-safe").exit_code == 0
    values = lambda d: {row["opt"] for row in csv.DictReader(open(d / "summary.csv"))}  # noqa: E731
    assert '=HYPERLINK("http://x","y")' in values(plain)  # off by default: values round-trip
    assert "'=HYPERLINK(\"http://x\",\"y\")" in values(safe) and "a" in values(safe)

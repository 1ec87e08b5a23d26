"""Terminal control characters in run names, values and paths reach the terminal only
made visible (issue 23, item 14): the report's last line, export warnings, errors."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.console import visible

HOSTILE = "\x1b[2J\x1b]0;TITLE\x07\rX\u202e"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def assert_clean(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)
    assert "\\x1b[2J" in text and "\\x1b]0;TITLE\\x07\\rX\\u202e" in text, text


def test_visible_escapes_controls_and_keeps_text():
    assert visible("a\tb ü 日本") == "a\tb ü 日本"
    assert visible("a\nb") == "a\nb" and visible("a\nb", newlines=False) == "a\\nb"
    assert visible(HOSTILE) == "\\x1b[2J\\x1b]0;TITLE\\x07\\rX\\u202e"
    assert visible("\x85\x9b\x7f\x00") == "\\x85\\x9b\\x7f\\x00"


@pytest.fixture
def hostile_sweep(make_sweep):
    return make_sweep([{"run_name": f"r{o}{s}", "params": {"opt": o, "seed": s},
                        "metrics": {"loss": v},
                        "artifacts": {f"bad{HOSTILE}.json": "{not json"}}
                       for (o, s), v in {(HOSTILE, 0): 0.1, (HOSTILE, 1): 0.2, ("b", 0): 0.5,
                                         ("b", 1): 0.6}.items()])


def test_the_reports_last_line_shows_controls(hostile_sweep, sweep_cli, tmp_path):
    res = sweep_cli("report", "--experiment-name", "sweep", "--objective", "metrics.loss", "-o",
                    str(tmp_path / "r"), "--max-plots", "0")
    assert res.exit_code == 0, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("mlflow-sweep: report -> ") and "opt=" in last
    assert_clean(res.stderr)


def test_export_warnings_show_controls(hostile_sweep, sweep_cli, tmp_path):
    res = sweep_cli("export", "--experiment-name", "sweep", "--artifact", "*.json", "-o",
                    str(tmp_path / "t.csv"))
    warnings = [line for line in res.stderr.splitlines() if "warning:" in line]
    assert warnings, res.stderr
    assert_clean(res.stderr)


def test_an_error_naming_a_value_shows_controls(sweep_store, sweep_cli, tmp_path):
    res = sweep_cli("report", "--experiment-name", HOSTILE, "-o", str(tmp_path / "r"))
    assert res.exit_code == 2
    assert_clean(res.stderr)

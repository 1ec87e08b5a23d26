"""mlflow_sweep_plugin.sweep.tails: a file's last lines, bounded, never failing."""

from __future__ import annotations

from mlflow_sweep_plugin.sweep.tails import tail_lines


def test_last_lines(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail_lines(str(path), 3) == ["line 97", "line 98", "line 99"]
    assert len(tail_lines(str(path))) == 100


def test_only_the_last_bytes_are_read(tmp_path):
    path = tmp_path / "big.log"
    path.write_bytes(b"x" * 10_000 + b"\nend\n")
    lines = tail_lines(str(path), max_bytes=100)
    assert lines[-1] == "end" and sum(len(line) for line in lines) < 100


def test_bad_bytes_are_replaced_and_a_missing_file_is_no_lines(tmp_path):
    path = tmp_path / "bin.log"
    path.write_bytes(b"ok\n\xff\xfe broken\n")
    assert tail_lines(str(path)) == ["ok", "\ufffd\ufffd broken"]
    assert tail_lines(str(tmp_path / "absent.log")) == []
    assert tail_lines(str(tmp_path)) == []  # a directory

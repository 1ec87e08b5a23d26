"""mlflow_sweep_plugin.backend.output: a child process's output still reaches the console
and its tail is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlflow_sweep_plugin.backend.output import TAIL_LINES, OutputTail, capturing_output

CHILD = r"""
import sys
for i in range(300):
    print(f"out {i}")
sys.stdout.flush()
sys.stderr.write("partial line without end")
"""

pytestmark = pytest.mark.skipif(os.name != "posix", reason="output is captured on POSIX only")


def test_a_childs_output_reaches_the_console_and_its_tail_is_kept(capfd):
    with capturing_output() as (out, err):
        proc = subprocess.Popen([sys.executable, "-c", CHILD])
    proc.wait(timeout=60)
    out_lines, err_lines = out.finish(), err.finish()
    assert out_lines == [f"out {i}" for i in range(300 - TAIL_LINES, 300)]
    assert err_lines == ["partial line without end"]
    console = capfd.readouterr()
    assert console.out.splitlines() == [f"out {i}" for i in range(300)]
    assert console.err == "partial line without end"


def test_this_process_gets_its_descriptors_back(capfd):
    with capturing_output():
        pass
    os.write(1, b"mine\n")
    assert capfd.readouterr().out == "mine\n"


def test_output_tail_splits_lines_and_bounds_them(capfd):
    tail = OutputTail(1, max_lines=2)
    os.write(tail.write_fd, b"a\r\nb\nc\nd")
    assert tail.finish() == ["c", "d"]
    assert capfd.readouterr().out == "a\r\nb\nc\nd"

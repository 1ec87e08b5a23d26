"""mlflow_sweep_plugin.sweep.outcome: a failed child's error tag, exit code and output
tails, on a real sqlite run."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.sweep.outcome import (MAX_ERROR_CHARS, error_line, error_text, record_failure,
                                               traceback_error)
from mlflow_sweep_plugin.tags import TAG_ERROR, TAG_EXIT_CODE
from mlflow_sweep_plugin.testing import artifact_paths

TRACEBACK = ["starting", "Traceback (most recent call last):", '  File "train.py", line 3, in <module>',
             "    raise ValueError('bad lr')", "ValueError: bad lr", "cleanup done"]


def test_the_exception_line_of_the_last_traceback():
    assert traceback_error(TRACEBACK) == ("ValueError: bad lr", 4)
    assert traceback_error(["no", "trace"]) == (None, -1)
    assert error_line(TRACEBACK) == "ValueError: bad lr"


def test_without_a_traceback_the_last_line_not_mlflows_footer():
    lines = ["epoch 3", "CUDA out of memory", "\U0001f3c3 View run x at: http://h/#/r", ""]
    assert error_line(lines) == "CUDA out of memory"
    assert error_line([]) is None


def test_error_text_is_masked_and_bounded():
    assert error_text("at http://u:pw@h") == "at http://***@h"
    assert len(error_text("x" * (MAX_ERROR_CHARS + 10))) == MAX_ERROR_CHARS


@pytest.fixture
def run(sweep_store):
    client = sweep_store.client
    run_id = client.create_run(sweep_store.create_experiment("outcome")).info.run_id
    return client, run_id


def test_record_failure_writes_error_exit_code_and_logs(run):
    client, run_id = run
    record_failure(client, run_id, exit_code=1, out_lines=["step 1", "token http://a:b@h"],
                   err_lines=TRACEBACK)
    tags = client.get_run(run_id).data.tags
    assert tags[TAG_ERROR] == "ValueError: bad lr" and tags[TAG_EXIT_CODE] == "1"
    assert artifact_paths(client, run_id) == ["logs/stderr.txt", "logs/stdout.txt"]
    stdout = client.download_artifacts(run_id, "logs/stdout.txt")
    assert open(stdout).read() == "step 1\ntoken http://***@h\n"


def test_record_failure_without_output_names_the_exit_code(run):
    client, run_id = run
    record_failure(client, run_id, exit_code=137, out_lines=[], err_lines=[])
    assert client.get_run(run_id).data.tags[TAG_ERROR] == "exit code 137"
    assert artifact_paths(client, run_id) == ["logs/stderr.txt"]


def test_keep_error_keeps_an_error_already_there(run):
    client, run_id = run
    client.set_tag(run_id, TAG_ERROR, "could not start")
    record_failure(client, run_id, exit_code=2, err_lines=["other"], keep_error=True)
    tags = client.get_run(run_id).data.tags
    assert tags[TAG_ERROR] == "could not start" and tags[TAG_EXIT_CODE] == "2"
    record_failure(client, run_id, error="given reason")
    assert client.get_run(run_id).data.tags[TAG_ERROR] == "given reason"

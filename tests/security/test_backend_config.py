"""The sweep backend's config against hostile input (issue 23, items 8, 9 and 10): an
alias bomb, /dev/zero, a FIFO, a huge file, a sweep_name holding both quotes. Each is
refused at once with a bounded, one-line message; nothing is read without limit."""

from __future__ import annotations

import os
import threading

import pytest

from mlflow_sweep_plugin.backend.config import (
    MAX_CONFIG_BYTES,
    SweepConfigError,
    parse_backend_config,
)

BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
                 + ["grid: {lr: *a8}"]) + "\n"


def refused(config) -> str:
    with pytest.raises(SweepConfigError) as caught:
        parse_backend_config(config)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600, message
    return message


def test_an_alias_bomb_config_file_is_refused_by_the_node_limit(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(BOMB)
    message = refused({"config_file": str(path)})
    assert str(path) in message and "more than" in message and "MLFLOW_SWEEP_MAX_NODES" in message


def test_a_bomb_under_the_limit_is_shown_bounded_in_messages(tmp_path, monkeypatch):
    """Values in messages are previews: a value standing for 9^5 items is 60 characters."""
    path = tmp_path / "sweep.yaml"
    level = "&a0 [x, x, x, x, x, x, x, x, x]"
    for i in range(1, 6):
        level = f"&a{i} [{level}, {', '.join([f'*a{i - 1}'] * 8)}]"
    path.write_text(f"grid: {{lr: [{level}]}}\n")
    message = refused({"config_file": str(path)})
    assert "not a string, number or boolean" in message and '[["' in message


def test_an_inline_value_is_shown_bounded():
    message = refused({"grid": {"lr": [0.1]}, "max_parallel": "x" * 1_000_000})
    assert '"max_parallel" must be an integer' in message


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_not_read(special):
    if not os.path.exists(special):
        pytest.skip(f"{special} is not there")
    message = refused({"config_file": special})
    assert f"config_file \"{special}\" is not a regular file" in message


def test_a_fifo_is_not_waited_on(tmp_path):
    fifo = tmp_path / "sweep.yaml"
    os.mkfifo(fifo)
    done = []
    worker = threading.Thread(target=lambda: done.append(refused({"config_file": str(fifo)})), daemon=True)
    worker.start()
    worker.join(30)
    assert done and "is not a regular file" in done[0]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "sweep.yaml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_CONFIG_BYTES + 1)  # sparse: nothing to read, only its size
    message = refused({"config_file": str(path)})
    assert f"{MAX_CONFIG_BYTES + 1:,} bytes" in message


def test_a_config_file_that_is_not_a_path_is_refused():
    assert '"config_file" must be a path' in refused({"config_file": ["a"] * 10})


def test_a_sweep_name_with_both_quotes_is_refused_when_checked():
    message = refused({"grid": {"lr": [0.1]}, "sweep_name": "it's \"x\"", "resume": True})
    assert "both quote characters" in message and "sweep_name" in message
    # one kind of quote is fine: resume can search for it
    assert parse_backend_config({"grid": {"lr": [0.1]}, "sweep_name": "it's"}).sweep_name == "it's"


def test_a_grid_of_too_many_points_is_refused_before_it_is_expanded():
    grid = {f"p{i}": list(range(10)) for i in range(9)}  # 10^9 points from 90 values
    assert "more than 100,000 points" in refused({"grid": grid})

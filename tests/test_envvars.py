"""mlflow_sweep_plugin.envvars.scoped_environ: set for a block, restored exactly."""

from __future__ import annotations

import os

import pytest

from mlflow_sweep_plugin.envvars import scoped_environ


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("MS_TEST_SET", "user")
    monkeypatch.delenv("MS_TEST_UNSET", raising=False)
    return monkeypatch


def test_values_are_set_inside_and_restored_after(env):
    with scoped_environ({"MS_TEST_SET": 5, "MS_TEST_UNSET": "x"}):
        assert os.environ["MS_TEST_SET"] == "5"
        assert os.environ["MS_TEST_UNSET"] == "x"
    assert os.environ["MS_TEST_SET"] == "user"
    assert "MS_TEST_UNSET" not in os.environ


def test_none_removes_a_variable_for_the_block(env):
    with scoped_environ({"MS_TEST_SET": None}):
        assert "MS_TEST_SET" not in os.environ
    assert os.environ["MS_TEST_SET"] == "user"


def test_keep_existing_lets_the_users_value_win(env):
    with scoped_environ({"MS_TEST_SET": "ours", "MS_TEST_UNSET": "ours"}, keep_existing=True):
        assert os.environ["MS_TEST_SET"] == "user"
        assert os.environ["MS_TEST_UNSET"] == "ours"
    assert os.environ["MS_TEST_SET"] == "user"
    assert "MS_TEST_UNSET" not in os.environ


def test_restored_after_an_exception(env):
    with pytest.raises(RuntimeError):
        with scoped_environ({"MS_TEST_SET": "ours"}):
            raise RuntimeError
    assert os.environ["MS_TEST_SET"] == "user"

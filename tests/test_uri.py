"""mlflow_sweep_plugin.uri: credentials never shown; relative stores made absolute."""

from __future__ import annotations

import os

import pytest

from mlflow_sweep_plugin.uri import absolute_uri, has_credentials, redact_data, redact_text, redact_uri


@pytest.mark.parametrize("uri, expected", [
    ("http://user:pw@host:5000/x", "http://***@host:5000/x"),
    ("https://host/x?token=abc&page=2", "https://host/x?token=***&page=2"),
    ("https://u:p@host/x?X-Amz-Signature=s1", "https://***@host/x?X-Amz-Signature=***"),
    ("sqlite:////abs/path/mlflow.db", "sqlite:////abs/path/mlflow.db"),
    ("http://host:5000", "http://host:5000"),
])
def test_redact_uri_masks_user_info_and_secret_query_values(uri, expected):
    assert redact_uri(uri) == expected


def test_redact_uri_of_nothing_is_its_text():
    assert redact_uri(None) == "None"
    assert redact_uri("") == ""


def test_redact_text_masks_every_uri_inside_text_and_keeps_the_rest():
    text = ("could not reach 'http://alice:s3cret@tracking:5000/api' "
            "nor https://bucket/obj?sig=XYZ&part=1; retrying")
    out = redact_text(text)
    assert "s3cret" not in out and "XYZ" not in out and "alice" not in out
    assert "'http://***@tracking:5000/api'" in out
    assert "sig=***&part=1" in out
    assert out.endswith("; retrying")


def test_redact_text_masks_a_uri_encoded_inside_another_uri():
    out = redact_text("http://proxy/?next=https%3A%2F%2Fbob%3Apw%40host%2Fx")
    assert "bob" not in out and "pw%40" not in out
    assert "%3A%2F%2F***%40host" in out


def test_redact_text_leaves_text_without_credentials_alone():
    text = "user@example.org wrote a = b at sqlite:///mlflow.db"
    assert redact_text(text) == text
    assert redact_text(None) == "None"


def test_redact_data_reaches_keys_values_and_nested_sequences():
    data = {"http://u:p@h": ["https://h/?token=t", ("ftp://a:b@c",)], "n": 3}
    assert redact_data(data) == {"http://***@h": ["https://h/?token=***", ("ftp://***@c",)], "n": 3}


def test_has_credentials():
    assert has_credentials("http://u:p@host")
    assert has_credentials("https://host/?password=x")
    assert not has_credentials("http://host:5000")
    assert not has_credentials(None)


def test_absolute_uri_makes_relative_stores_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_uri("sqlite:///mlflow.db") == "sqlite:///" + str(tmp_path / "mlflow.db")
    assert absolute_uri("file:mlruns") == "file://" + str(tmp_path / "mlruns")
    assert absolute_uri("mlruns") == "file://" + str(tmp_path / "mlruns")


@pytest.mark.parametrize("uri", [
    "sqlite:////abs/mlflow.db", "sqlite:///:memory:", "file:///abs/mlruns",
    "http://host:5000", "databricks", "", "postgresql://u@h/db",
])
def test_absolute_uri_keeps_uris_that_already_mean_one_store(uri):
    assert absolute_uri(uri) == uri


def test_absolute_uri_does_not_depend_on_the_working_directory_once_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = absolute_uri("sqlite:///sub/mlflow.db")
    monkeypatch.chdir(os.path.dirname(tmp_path))
    assert absolute_uri(first) == first

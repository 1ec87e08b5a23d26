"""Secrets are not params: ``log_config`` logs credential-looking keys as ``***`` and never
writes them to its YAML artifact; ``redact=`` extends the list, ``redact=()`` turns it off
(a real sqlite store)."""

from __future__ import annotations

import pytest
import yaml

from mlflow_sweep_plugin import flatten_config, log_config
from mlflow_sweep_plugin.testing import artifact_paths

CONFIG = {
    "lr": 0.1,
    "db": {"host": "db.internal", "port": 5432, "pass": "hunter2", "Password": "hunter3"},
    "wandb": {"api_key": "wk-123", "apikey": "wk-456", "project": "p"},
    "aws": {"ACCESS_KEY": "AKIA", "private_key": "-----BEGIN", "secret": "s3", "passwd": "pw"},
    "hf_token": "hf_abc", "token": "t", "credentials": {"user": "u", "key": "k"},
    # look alike, hold no secret: kept
    "tokenizer": {"pad_token": "<pad>", "max_tokens": 512},
    "token_dim": 64, "forward_pass": "fused", "layers": [{"units": 8, "secret": "x"}],
}
SECRETS = {"db.pass", "db.Password", "wandb.api_key", "wandb.apikey", "aws.ACCESS_KEY",
           "aws.private_key", "aws.secret", "aws.passwd", "hf_token", "token", "credentials",
           "layers.0.secret"}


def _run_params(client, run_id):
    return dict(client.get_run(run_id).data.params)


def test_credential_keys_are_logged_as_stars_and_not_in_the_yaml(sweep_store):
    import mlflow

    sweep_store.use_experiment("redact")
    client = sweep_store.client
    with mlflow.start_run() as run:
        logged = log_config(CONFIG, config_artifact=True)
    params = _run_params(client, run.info.run_id)
    assert params == logged
    assert {k for k, v in params.items() if v == "***"} == SECRETS
    assert params["db.host"] == "db.internal" and params["tokenizer.pad_token"] == "<pad>"
    assert params["tokenizer.max_tokens"] == "512" and params["forward_pass"] == "fused"
    assert "credentials.user" not in params  # a credentials mapping is hidden whole
    text = (sweep_store.artifact_root / "redact" / run.info.run_id / "artifacts" / "mlflow_sweep"
            / "config.yaml").read_text()
    for secret in ("hunter2", "hunter3", "wk-123", "wk-456", "AKIA", "BEGIN", "s3", "hf_abc", "pw"):
        assert secret not in text
    data = yaml.safe_load(text)
    assert data["db"] == {"host": "db.internal", "port": 5432, "pass": "***", "Password": "***"}
    assert data["credentials"] == "***" and data["tokenizer"]["pad_token"] == "<pad>"


def test_redact_extends_the_list_and_an_empty_one_turns_it_off(sweep_store):
    import mlflow

    sweep_store.use_experiment("redact-options")
    client = sweep_store.client
    cfg = {"db": {"pass": "hunter2", "dsn": "host=x password=y"}, "smtp_login": "me", "wandb_entity": "e"}
    with mlflow.start_run() as run:
        log_config(cfg, redact=["smtp_login", "wandb_*"], config_artifact=True)
    params = _run_params(client, run.info.run_id)
    assert params == {"db.pass": "***", "db.dsn": "host=x password=***", "smtp_login": "***",
                      "wandb_entity": "***"}
    assert "hunter2" not in str(artifact_paths(client, run.info.run_id))
    with mlflow.start_run() as run:
        log_config(cfg, redact=(), config_artifact=True)
    assert _run_params(client, run.info.run_id) == {
        "db.pass": "hunter2", "db.dsn": "host=x password=y", "smtp_login": "me", "wandb_entity": "e"}
    text = (sweep_store.artifact_root / "redact-options" / run.info.run_id / "artifacts"
            / "mlflow_sweep" / "config.yaml").read_text()
    assert "hunter2" in text


def test_the_same_redacted_config_again_is_a_no_op(sweep_store):
    import mlflow

    sweep_store.use_experiment("redact-resume")
    with mlflow.start_run() as run:
        log_config({"db": {"pass": "a"}})
        log_config({"db": {"pass": "a"}})  # a resumed job: nothing changes
    assert _run_params(sweep_store.client, run.info.run_id) == {"db.pass": "***"}


@pytest.mark.parametrize("segment, secret", [
    ("password", True), ("DB_PASSWORD", True), ("dbPassword", True), ("pass", True),
    ("client_secret", True), ("aws_secret_access_key", True), ("apiKey", True),
    ("hf_token", True), ("Credentials", True), ("passwd", True),
    ("forward_pass", False), ("pad_token", False), ("max_tokens", False), ("tokenizer", False),
    ("key", False), ("bypass", False), ("lr", False),
])
def test_which_segments_are_credentials(segment, secret):
    from mlflow_sweep_plugin.tracking.redact import Redactor

    assert Redactor().matches(segment) is secret


def test_flatten_config_redacts_too():
    assert flatten_config({"a": {"token": "t", "b": 1}}) == {"a.token": "***", "a.b": "1"}
    assert flatten_config({"a": {"token": "t"}}, redact=()) == {"a.token": "t"}
    assert flatten_config({"token": {"dim": 8}}) == {"token.dim": "8"}  # no secret under it

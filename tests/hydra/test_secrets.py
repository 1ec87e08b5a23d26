"""mlflow_sweep_plugin.hydra.secrets: the values a job's config hides, and redacted
copies of its YAML and log files (the originals untouched)."""

from __future__ import annotations

import yaml

from mlflow_sweep_plugin.hydra.secrets import redacted_text, secret_values
from mlflow_sweep_plugin.tracking.redact import Redactor

CONFIG = {"db": {"password": "hunter22", "host": "db.local"}, "api_token": "tok-123456",
          "lr": 0.1, "flag": {"secret": True}, "short": {"password": "abc"}}


def test_secret_values_from_config_and_overrides():
    values = secret_values(CONFIG, ["db.password=override99", "lr=0.2"], Redactor())
    assert values == {"hunter22", "tok-123456", "override99"}  # not True, not 3-character ones
    assert secret_values(CONFIG, [], None) == set()


def test_a_yaml_file_gets_its_credential_keys_hidden(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    before = path.read_text()
    hidden = yaml.safe_load(redacted_text(str(path), Redactor()))
    assert hidden["db"] == {"password": "***", "host": "db.local"}
    assert hidden["api_token"] == "***" and hidden["lr"] == 0.1
    assert path.read_text() == before  # a copy: the job's file is not changed


def test_a_log_gets_key_lines_and_known_values_hidden(tmp_path):
    path = tmp_path / "train.log"
    path.write_text("[2024-01-01 10:00] starting\n  password: hunter22\nconnecting with hunter22 to db\n"
                    "lr=0.1\n")
    text = redacted_text(str(path), Redactor(), values={"hunter22"})
    assert text == "[2024-01-01 10:00] starting\n  password: ***\nconnecting with *** to db\nlr=0.1\n"


def test_nothing_to_hide_or_not_text_gives_none(tmp_path):
    clean = tmp_path / "out.txt"
    clean.write_text("loss 0.3\n")
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"password: x")
    undecodable = tmp_path / "bad.log"
    undecodable.write_bytes(b"\xff\xfe password: hunter22")
    assert redacted_text(str(clean), Redactor()) is None
    assert redacted_text(str(binary), Redactor()) is None
    assert redacted_text(str(undecodable), Redactor()) is None
    assert redacted_text(str(clean), None) is None

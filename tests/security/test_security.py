"""Artifacts come from whoever could write to the run: never leave the run's root,
never unpickle, never print credentials."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.export.paths import UnsafeArtifactPath, local_path_of, safe_relpath
from mlflow_sweep_plugin.export.readers import LocalArtifactReader
from mlflow_sweep_plugin.parsers.loaders import load_npz, load_yaml
from mlflow_sweep_plugin.uri import redact_uri


@pytest.mark.parametrize("path", ["../secret", "a/../../b", "/etc/passwd", "..", "", "a\x00b",
                                  "C:/x", "\\\\server\\share"])
def test_unsafe_paths_refused(path):
    with pytest.raises(UnsafeArtifactPath):
        safe_relpath(path)


def test_safe_paths_normalised():
    assert safe_relpath("a/./b//c.json") == "a/b/c.json"
    assert safe_relpath("a\\b.json") == "a/b.json"


def test_symlink_out_of_root_is_not_read(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": "hunter2"}')
    root = tmp_path / "run" / "artifacts"
    (root / "layer_0").mkdir(parents=True)
    os.symlink(secret, root / "layer_0" / "cluster_summary.json")
    os.symlink(tmp_path, root / "escape_dir")
    reader = LocalArtifactReader(str(root))
    with pytest.raises(UnsafeArtifactPath):
        reader.read("layer_0/cluster_summary.json")
    with pytest.raises(UnsafeArtifactPath):
        reader.read("escape_dir/secret.json")
    assert "escape_dir/secret.json" not in reader.list()  # directory links are not followed


def test_symlinked_file_in_a_run_gives_a_warning_not_its_content(make_sweep, sweep_exporter, tmp_path):
    secret = tmp_path / "outside.json"
    secret.write_text('{"layer": 0, "energy_contrast_ratio": 0.5}')
    sweep = make_sweep([{"artifacts": {"notes.txt": "x"}}])
    run = sweep.store.client.get_run(sweep.run_ids[0])
    root = local_path_of(run.info.artifact_uri)
    os.makedirs(os.path.join(root, "layer_0"))
    os.symlink(secret, os.path.join(root, "layer_0", "cluster_summary.json"))
    result = sweep_exporter()
    assert len(result.df) == 1 and "energy_contrast_ratio" not in result.df.columns
    assert "outside the run's root" in str(result.warnings[0])


def test_npz_with_objects_is_refused_not_unpickled():
    buf = io.BytesIO()
    np.savez(buf, graphs=np.array([{"a": 1}], dtype=object))
    with pytest.raises(BadArtifact, match="pickle|unsafe"):
        load_npz(buf.getvalue())


def test_yaml_python_tags_are_refused():
    with pytest.raises(BadArtifact):
        load_yaml(b"!!python/object/apply:os.system ['echo pwned']")
    assert load_yaml(b"a: .nan\nb: NaN\nc: 1e-3\n")["c"] == 0.001


def test_credentials_never_shown(sweep_cli):
    res = sweep_cli("export", "--experiment-name", "x", "--tracking-uri",
                    "http://alice:s3cr3t@127.0.0.1:9/?token=abc123")
    assert res.exit_code == 3, res.stderr
    assert "s3cr3t" not in res.stderr and "abc123" not in res.stderr
    assert "http://***@127.0.0.1:9/" in res.stderr
    assert redact_uri("postgresql://u:p@db/mlflow") == "postgresql://***@db/mlflow"

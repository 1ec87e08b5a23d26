"""mlflow_sweep_plugin.parsers.loaders: bytes to objects, safely, chosen by extension."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.limits import Limits, applied
from mlflow_sweep_plugin.parsers.bounds import MAX_NODES_ENV, TooManyNodes
from mlflow_sweep_plugin.parsers.loaders import (LOADERS, load_json, load_npz, load_text, load_yaml,
                                                 resolve_loader)


def test_json_reads_bare_nan_and_infinity():
    value = load_json(b'{"a": NaN, "b": Infinity, "c": [1, 2]}')
    assert math.isnan(value["a"]) and value["b"] == math.inf and value["c"] == [1, 2]


@pytest.mark.parametrize("data", [b"{", b"\xff\xfe"])
def test_json_bad_input_is_a_bad_artifact(data):
    with pytest.raises(BadArtifact, match="invalid JSON"):
        load_json(data)


def test_yaml_reads_research_floats():
    value = load_yaml(b"lr: 1e-3\nx: NaN\ny: -inf\nz: .inf\nn: 3\ns: '1e-3'\n")
    assert value["lr"] == 0.001 and math.isnan(value["x"]) and value["y"] == -math.inf
    assert value["z"] == math.inf and value["n"] == 3 and value["s"] == "1e-3"
    assert load_yaml(b"") is None


def test_yaml_never_builds_python_objects():
    with pytest.raises(BadArtifact, match="invalid YAML"):
        load_yaml(b"!!python/object/apply:os.system ['echo hi']")


def test_yaml_aliases_are_counted_as_what_they_expand_to(monkeypatch):
    doc = b"a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"
    assert load_yaml(doc)["b"] == [[1, 2, 3]] * 3
    monkeypatch.setenv(MAX_NODES_ENV, "10")
    with pytest.raises(TooManyNodes, match="more than 10 values"):
        load_yaml(doc)


def test_npz_loads_arrays_without_pickles():
    buf = io.BytesIO()
    np.savez(buf, w=np.arange(6).reshape(2, 3))
    assert load_npz(buf.getvalue())["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    buf = io.BytesIO()
    np.savez(buf, o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(BadArtifact, match="unsafe"):
        load_npz(buf.getvalue())
    with pytest.raises(BadArtifact, match="invalid .npz"):
        load_npz(b"not a zip")


def test_npz_over_the_artifact_limit_is_refused_unopened():
    buf = io.BytesIO()
    np.savez_compressed(buf, z=np.zeros(100_000))  # 800 kB inflated, a few kB stored
    with applied(Limits(max_artifact_bytes=100_000)):
        with pytest.raises(BadArtifact, match="more than the limit"):
            load_npz(buf.getvalue())
    assert load_npz(buf.getvalue())["z"].shape == (100_000,)


def test_text():
    assert load_text("é".encode()) == "é"
    with pytest.raises(BadArtifact, match="UTF-8"):
        load_text(b"\xff")


@pytest.mark.parametrize("pattern, name", [
    ("a/{x}/s.json", "json"), ("c.YAML", "yaml"), ("c.yml", "yaml"), ("p.npz", "npz"),
    ("log.txt", "text"), ("t.csv", "text"), ("blob.bin", "bytes"), ("dir.v2/file", "bytes"),
])
def test_the_loader_is_chosen_by_extension(pattern, name):
    assert resolve_loader(None, pattern) is LOADERS[name]


def test_an_explicit_loader_wins_and_an_unknown_name_is_refused():
    mine = bytes.upper
    assert resolve_loader(mine, "x.json") is mine
    assert resolve_loader("text", "x.json") is load_text
    with pytest.raises(ValueError, match="unknown loader 'pickle'"):
        resolve_loader("pickle", "x.pkl")

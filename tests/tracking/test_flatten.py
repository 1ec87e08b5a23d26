"""flatten_config and the key escaping: pure functions, no tracking store."""

from __future__ import annotations

import argparse
import collections
import dataclasses

import pytest

from mlflow_sweep_plugin import flatten_config
from mlflow_sweep_plugin.tracking.flatten import config_yaml, flatten_config_details, to_plain
from mlflow_sweep_plugin.tracking.keys import (
    MAX_KEY_LENGTH,
    escape_segment,
    is_valid_name,
    join_key,
    metric_name,
    split_key,
    unescape_segment,
)

ODD_KEYS = ["cuda:0", "v1.2", "λ", "a_-b", "_-", "/x", "x/", "a//b", "", "a b", "+lr", "x=1",
            "[0]", "日本語", "__init__", "-_-", "a_-2E", "tab\tkey", "e\u0301", "%20", "..", "."]


@pytest.mark.parametrize("segment", ODD_KEYS)
def test_escape_is_valid_and_reversible(segment):
    escaped = escape_segment(segment)
    assert is_valid_name(escaped), escaped
    assert "." not in escaped and ":" not in escaped
    assert unescape_segment(escaped) == segment


def test_plain_keys_are_kept():
    assert join_key(["model", "train/loss", "n_layers", "my-key", "with space"]) == \
        "model.train/loss.n_layers.my-key.with space"


def test_odd_keys_round_trip_through_flatten():
    cfg = {k: {inner: i for i, inner in enumerate(ODD_KEYS)} for k in ODD_KEYS}
    flat = flatten_config(cfg)
    assert len(flat) == len(ODD_KEYS) ** 2
    back = {tuple(split_key(k)): v for k, v in flat.items()}
    for outer in ODD_KEYS:
        for i, inner in enumerate(ODD_KEYS):
            assert back[(outer, inner)] == str(i)
    assert all(is_valid_name(k) for k in flat)


def test_dot_in_key_does_not_collide_with_nesting():
    flat = flatten_config({"a.b": 1, "a": {"b": 2}})
    assert flat == {"a_-2Eb": "1", "a.b": "2"}


@dataclasses.dataclass
class Optim:
    lr: float = 0.001
    betas: tuple = (0.9, 0.999)


@dataclasses.dataclass
class Model:
    layers: list = dataclasses.field(default_factory=lambda: [{"units": 64}, {"units": 32}])
    optim: Optim = dataclasses.field(default_factory=Optim)


Point = collections.namedtuple("Point", "x y")


def test_deep_config_shapes():
    cfg = {
        "model": Model(),
        "data": {"paths": ["a.csv", "b.csv"], "empty_list": [], "empty_dict": {}, "none": None,
                 "flag": True, "tags": {"x", "a"}, "point": Point(1, 2)},
        "seed": 7,
        "args": argparse.Namespace(batch=32),
        "deep": {"l1": {"l2": {"l3": {"l4": {"l5": [1, [2, 3], {"z": 4}]}}}}},
    }
    assert flatten_config(cfg) == {
        "model.layers.0.units": "64",
        "model.layers.1.units": "32",
        "model.optim.lr": "0.001",
        "model.optim.betas": "0.9,0.999",
        "data.paths": "a.csv,b.csv",
        "data.empty_list": "[]",
        "data.empty_dict": "{}",
        "data.none": "None",
        "data.flag": "True",
        "data.tags": "a,x",
        "data.point.x": "1",
        "data.point.y": "2",
        "seed": "7",
        "args.batch": "32",
        "deep.l1.l2.l3.l4.l5.0": "1",
        "deep.l1.l2.l3.l4.l5.1": "2,3",
        "deep.l1.l2.l3.l4.l5.2.z": "4",
    }


def test_custom_separator():
    assert flatten_config({"a": {"b.c": 1}}, sep="/") == {"a/b_-2Ec": "1"}


def test_numpy_values():
    np = pytest.importorskip("numpy")
    flat = flatten_config({"w": np.array([1, 2]), "x": np.float64(0.5), "n": np.int64(3),
                           "m": np.zeros((2, 2))})
    assert flat == {"w": "1,2", "x": "0.5", "n": "3", "m.0": "0.0,0.0", "m.1": "0.0,0.0"}


def test_omegaconf_with_interpolation():
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create({"base": 4, "model": {"width": "${base}", "dims": [1, 2]},
                                      "broken": {"x": "${missing}"}})
    flat = flatten_config(cfg.model)
    assert flat == {"width": "4", "dims": "1,2"}
    # an unresolvable interpolation is kept as text instead of failing the job
    assert flatten_config(cfg)["broken.x"] == "${missing}"


def test_long_value_is_truncated_with_marker():
    details = flatten_config_details({"blob": "x" * 7000, "ok": "y"}, max_value_length=6000)
    value = details.params["blob"]
    assert len(value) == 6000
    assert value.startswith("xxx")
    assert "truncated: 7000 chars" in value and "mlflow_sweep/config.yaml" in value
    assert details.truncated == ["blob"] and details.params["ok"] == "y"
    other = flatten_config_details({"blob": "x" * 6999 + "z"}).params["blob"]
    assert other != value  # a changed tail changes the param (digest in the marker)


def test_long_key_is_shortened_uniquely():
    a, b = "k" * 300 + "a", "k" * 300 + "b"
    flat = flatten_config({a: 1, b: 2})
    assert len(flat) == 2
    assert all(len(k) <= MAX_KEY_LENGTH and is_valid_name(k) for k in flat)


def test_lossy_list_is_reported():
    details = flatten_config_details({"names": ["a,b", "c"], "ok": [1, 2]})
    assert details.params["names"] == "a,b,c"
    assert details.lossy == ["names"] and not details.complete


def test_scalar_config_is_refused():
    with pytest.raises(TypeError, match="mapping or a sequence"):
        flatten_config(3)


def test_yaml_holds_everything():
    import yaml

    cfg = {"model": Model(), "names": ["a,b", "c"], "long": "x" * 7000, "key:odd": {1: "one"}}
    back = yaml.safe_load(config_yaml(cfg))
    assert back == to_plain(cfg)
    assert back["names"] == ["a,b", "c"] and back["key:odd"] == {1: "one"}
    assert back["model"]["optim"]["betas"] == [0.9, 0.999]


def test_metric_names_keep_structure():
    assert metric_name(["SVGD", "eshd"]) == "SVGD.eshd"
    assert metric_name(["train/loss"]) == "train/loss"
    assert metric_name(["a:b"]) == "a_-3Ab"
    assert is_valid_name(metric_name(["../x"]))
    assert is_valid_name(metric_name(["/abs"]))

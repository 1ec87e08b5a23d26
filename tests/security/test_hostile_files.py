"""Bounded work on hostile files: whatever a file claims, reading it costs at most the
limits (:mod:`mlflow_sweep_plugin.limits`), and a file over them is one warning naming
run, path and the number; the run's other files and the other runs are exported.

The hostile files are generated here, small on disk. Nothing is timed: a regression
shows as a test that hangs or eats the machine.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from mlflow_sweep_plugin.errors import BadArtifact
from mlflow_sweep_plugin.limits import ArtifactTooLarge, Limits, applied, parse_size
from mlflow_sweep_plugin.parsers.bounds import TooManyNodes
from mlflow_sweep_plugin.parsers.loaders import expanded_size, load_npz, load_yaml
from sweep_test_helpers import yaml_bomb

SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}
GOOD_NPZ = io.BytesIO()
np.savez(GOOD_NPZ, graphs=np.zeros((2, 3, 3), dtype=np.int8))


# -- generators --------------------------------------------------------------------------

def npz_bomb(inflated_mib: int = 2048, name: str = "graphs.npy") -> bytes:
    """An ``.npz`` of ~1 KB per MiB it inflates to (2 MB -> 2 GiB): one ``uint8`` array of
    zeros whose header and zip entry tell the truth about its size. Built without ever
    holding the inflated bytes: the same fully flushed deflate block of 1 MiB of zeros,
    repeated (the CRC is not computed: nothing may read that far)."""
    header = io.BytesIO()
    size = inflated_mib << 20
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (size,)})
    head = header.getvalue()

    def block(data: bytes, final: bool = False) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    zeros = block(bytes(1 << 20))
    stream = block(head) + zeros * inflated_mib + block(b"", final=True)
    usize = len(head) + size
    fname = name.encode()
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, len(stream), usize, len(fname), 0)
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, 0, len(stream), usize,
                          len(fname), 0, 0, 0, 0, 0, 0)
    body = local + fname + stream
    cd = central + fname
    eocd = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), len(body), 0)
    return body + cd + eocd


def cluster_summary(n_clusters: int) -> bytes:
    fits = {str(i): {"best_geometry": "c", "best_optimal_distance": 0.5} for i in range(n_clusters)}
    return json.dumps(dict(SUMMARY, geometry_fits=fits), separators=(",", ":")).encode()


# -- the loaders ---------------------------------------------------------------------------

@pytest.mark.parametrize("mapping", [False, True])
def test_yaml_alias_bombs_are_refused_before_anything_is_built(mapping, monkeypatch):
    with pytest.raises(TooManyNodes, match=r"aliases expand to more than 2,000,000 values"):
        load_yaml(yaml_bomb(mapping=mapping))
    small = load_yaml(yaml_bomb(levels=3, width=3, mapping=mapping))  # shared, small: loaded
    assert len(small) == 3
    with pytest.raises(TooManyNodes, match="contain itself"):
        load_yaml(b"a: &a [1, *a]\n")
    assert load_yaml(b"base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n") == {"base": {"x": 1}, "d": {"x": 1, "y": 2}}
    assert load_yaml(b"") is None
    monkeypatch.setenv("MLFLOW_SWEEP_MAX_NODES", "10")  # the one node limit (parsers.bounds)
    assert load_yaml(b"a: [1, 2, 3, 4, 5, 6, 7, 8]\n")["a"][-1] == 8  # 10 values
    with pytest.raises(TooManyNodes, match="more than 10 values"):
        load_yaml(b"a: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n")


def test_node_count_is_the_expanded_size_computed_on_the_graph():
    import yaml

    from mlflow_sweep_plugin.parsers.bounds import count_nodes

    node = yaml.compose("a: &x [1, 2]\nb: [*x, *x]\n")
    # mapping(1) + [1,2](3) + [*x, *x](1 + 3 + 3): what bounds.count_nodes counts once loaded
    assert expanded_size(node, 100) == 11 == count_nodes(yaml.safe_load("a: &x [1, 2]\nb: [*x, *x]\n"))
    with pytest.raises(TooManyNodes):
        expanded_size(node, 10)


def test_npz_zip_bomb_is_refused_unopened():
    bomb = npz_bomb(2048)
    assert len(bomb) < 4 << 20  # ~2 MB on disk for 2 GiB inflated
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactTooLarge, match=r"inflated, is 2,147,483,\d+ bytes \(2\.0 GiB\), more than "
                                                   r"the limit of 1,073,741,824"):
            load_npz(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # nothing was inflated
    with applied(Limits(max_artifact_bytes=200 << 20)):
        with pytest.raises(ArtifactTooLarge, match="more than the limit of 209,715,200"):
            load_npz(npz_bomb(256))
    assert load_npz(GOOD_NPZ.getvalue())["graphs"].shape == (2, 3, 3)


def test_npz_whose_header_claims_more_than_it_holds_is_refused_unallocated():
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (268435456,)})  # 2 GiB claimed
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("graphs.npy", header.getvalue() + bytes(32))
    with pytest.raises(BadArtifact, match=r"claims 2,147,483,648 bytes of array data but holds"):
        load_npz(buf.getvalue())


def test_sizes_parse():
    assert parse_size("1GiB") == 1 << 30 and parse_size("500MB") == 500_000_000 and parse_size(7) == 7
    assert parse_size("2g") == 2_000_000_000 and parse_size(" 10 KiB ") == 10240
    for bad in ("", "x", "1 parsec", "0", "-5"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_SWEEP_MAX_ARTIFACT_BYTES", "2MiB")
    monkeypatch.setenv("MLFLOW_SWEEP_MAX_COLUMNS", "50")
    assert Limits.from_env() == Limits(max_artifact_bytes=2 << 20, max_columns=50)
    assert Limits.from_env(max_columns=7).max_columns == 7


# -- the export ----------------------------------------------------------------------------

def test_yaml_bombs_in_an_export_are_one_warning_each(check_bad_artifacts):
    report = check_bad_artifacts(
        {"list bomb": {"eval/scores.yaml": yaml_bomb(), "layer_0/cluster_summary.json": SUMMARY},
         "mapping bomb": {"eval/scores.yaml": yaml_bomb(mapping=True)}},
        {"eval/scores.yaml": b"acc: 0.9\n", "layer_0/cluster_summary.json": SUMMARY},
        paths={"list bomb": "eval/scores.yaml", "mapping bomb": "eval/scores.yaml"},
        artifact_patterns=["eval/scores.yaml"], cache=False)
    for name in ("list bomb", "mapping bomb"):
        assert "aliases expand to more than 2,000,000 values" in report.reason(name)
    df = report.result.df
    assert df.loc[df["run_id"] == report.run_ids["good"], "acc"].dropna().tolist() == [0.9]
    # the bomb's run keeps its other file's row
    assert df.loc[df["run_id"] == report.run_ids["list bomb"], "energy_contrast_ratio"].tolist() == [0.5]


def test_a_record_with_too_many_keys_is_one_warning(check_bad_artifacts, tmp_path):
    # 200,000 keys (3 MB): over the column limit, under any node limit of a walk over it
    wide = json.dumps({f"k{i}": i for i in range(200_000)}, separators=(",", ":")).encode()
    report = check_bad_artifacts(
        {"wide": {"eval/scores.json": wide, "layer_0/cluster_summary.json": SUMMARY}},
        {"eval/scores.json": {"acc": 0.9}, "layer_0/cluster_summary.json": SUMMARY},
        paths={"wide": "eval/scores.json"}, artifact_patterns=["eval/scores.json"], cache=False)
    assert "a record with 200,000 columns, more than the limit of 10,000 (--max-columns" in report.reason("wide")
    df = report.result.df
    assert len(df.columns) < 100
    assert df.loc[df["run_id"] == report.run_ids["wide"], "energy_contrast_ratio"].tolist() == [0.5]


def test_the_column_limit_is_an_option(make_sweep, sweep_exporter, sweep_cli, tmp_path):
    make_sweep([{"artifacts": {"eval/scores.json": {f"m{i}": i for i in range(50)}}}])
    narrow = sweep_exporter(artifact_patterns=["eval/scores.json"], max_columns=20)
    assert "a record with 50 columns, more than the limit of 20" in str(narrow.warnings[0])
    assert "m0" not in narrow.df.columns
    wide = sweep_exporter(artifact_patterns=["eval/scores.json"])
    assert not wide.warnings and "m49" in wide.df.columns
    out = tmp_path / "t.csv"
    res = sweep_cli("export", "--experiment-name", "sweep", "--artifact", "eval/scores.json",
                    "--max-columns", "20", "-o", out)
    res.assert_success()
    assert "more than the limit of 20" in res.stderr
    bad = sweep_cli("export", "--experiment-name", "sweep", "--max-artifact-bytes", "lots", "-o", out)
    assert bad.exit_code == 2 and "not a size" in bad.stderr


def test_npz_bomb_in_an_export_is_one_warning(check_bad_artifacts):
    report = check_bad_artifacts(
        {"bomb": {"SVGD/particles.npz": npz_bomb(2048), "layer_0/cluster_summary.json": SUMMARY}},
        {"SVGD/particles.npz": GOOD_NPZ.getvalue(), "layer_0/cluster_summary.json": SUMMARY},
        paths={"bomb": "SVGD/particles.npz"}, parser_names=["causal_particles", "cluster_summary"],
        cache=False)
    assert "the .npz, inflated, is 2,147,483," in report.reason("bomb")
    assert "(--max-artifact-bytes" in report.reason("bomb")


def test_any_artifact_over_the_size_limit_is_not_read(make_sweep, sweep_exporter, monkeypatch):
    from mlflow_sweep_plugin.export import readers

    big = dict(SUMMARY, padding="x" * 5000)
    sweep = make_sweep([{"artifacts": {"layer_0/cluster_summary.json": big,
                                       "layer_1/cluster_summary.json": dict(SUMMARY, layer=1)}}])
    opened = []
    real = readers.read_regular_file
    monkeypatch.setattr(readers, "read_regular_file",
                        lambda full, shown=None, max_bytes=None: opened.append(shown) or real(full, shown, max_bytes))
    result = sweep_exporter(max_artifact_bytes="4KB", cache=False)
    (w,) = result.warnings
    assert (w.run_id, w.path) == (sweep.run_ids[0], "layer_0/cluster_summary.json")
    assert "more than the limit of 4,000 bytes" in w.message
    assert opened == ["layer_1/cluster_summary.json"]  # the big one was never opened
    assert result.df["layer"].tolist() == [1]
    assert not sweep_exporter(cache=False).warnings  # the default limit (1 GiB) reads it


def test_a_local_file_is_checked_when_read_not_only_when_listed(tmp_path):
    from mlflow_sweep_plugin.export.readers import LocalArtifactReader

    (tmp_path / "a.json").write_bytes(b"x" * 100)
    reader = LocalArtifactReader(str(tmp_path))
    reader.max_bytes = 99
    with pytest.raises(ArtifactTooLarge, match="100 bytes, more than the limit of 99 bytes"):
        reader.read("a.json")
    reader.max_bytes = 100
    assert reader.read("a.json") == b"x" * 100


def test_cluster_summary_with_a_hundred_thousand_clusters(make_sweep, sweep_exporter):
    """Completes, with one warning (2 columns per cluster: far over the column limit),
    and the parse costs no more than ~10x the file's size in memory."""
    data = cluster_summary(10**5)
    sweep = make_sweep([{"artifacts": {"layer_0/cluster_summary.json": data,
                                       "layer_1/cluster_summary.json": dict(SUMMARY, layer=1)}}])
    tracemalloc.start()
    try:
        result = sweep_exporter(parser_names=["cluster_summary"], cache=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (w,) = result.warnings
    assert (w.run_id, w.path) == (sweep.run_ids[0], "layer_0/cluster_summary.json")
    assert "a record with 200,00" in w.message and "more than the limit of 10,000" in w.message
    assert result.df["layer"].tolist() == [1]
    assert peak < 10 * len(data), (peak, len(data))


# -- flatten and the report obey them too ------------------------------------------------------

@pytest.mark.parametrize("given", ["environment", "option"])
def test_flatten_and_the_report_obey_the_limits(make_sweep, sweep_cli, tmp_path, monkeypatch, given):
    sweep = make_sweep([{"artifacts": {"layer_0/cluster_summary.json": dict(SUMMARY, padding="x" * 5000)}},
                        {"artifacts": {"layer_0/cluster_summary.json": SUMMARY}}])
    limit = ()
    if given == "environment":
        monkeypatch.setenv("MLFLOW_SWEEP_MAX_ARTIFACT_BYTES", "4KB")
    else:
        limit = ("--max-artifact-bytes", "4KB")
        for command in ("flatten", "report"):
            bad = sweep_cli(command, "--experiment-name", "sweep", "--max-artifact-bytes", "lots")
            assert bad.exit_code == 2 and "not a size" in bad.stderr, (command, bad.stderr)
    flat = sweep_cli("flatten", "--experiment-name", "sweep", "--parser", "cluster_summary", *limit).assert_success()
    assert f"run {sweep.run_ids[0]}, artifact layer_0/cluster_summary.json" in flat.stderr
    assert "more than the limit of 4,000 bytes" in flat.stderr
    metrics = sweep.store.client.get_run(sweep.run_ids[1]).data.metrics
    assert metrics.get("layer_0.energy_contrast_ratio") == 0.5
    assert "layer_0.energy_contrast_ratio" not in sweep.store.client.get_run(sweep.run_ids[0]).data.metrics
    rep = sweep_cli("report", "--experiment-name", "sweep", "--parser", "cluster_summary",
                    "-o", tmp_path / "report", *limit).assert_success()
    assert "more than the limit of 4,000 bytes" in rep.stderr


@pytest.mark.server
def test_remote_artifacts_over_the_limit_are_not_loaded(mlflow_server, tmp_path, monkeypatch):
    """Over HTTP: a file listed larger than the limit is never downloaded; a file fetched
    without a listing (a literal path) is fetched with the limit and never loaded."""
    import uuid

    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    from mlflow_sweep_plugin.export import export_sweep
    from mlflow_sweep_plugin.export import remote as remote_module
    from mlflow_sweep_plugin.plugins import SweepPluginManager
    from scale_test_helpers import log_to_server

    name = f"hostile-{uuid.uuid4().hex[:8]}"
    big = dict(SUMMARY, padding="x" * 5000)
    sweep = log_to_server(mlflow_server, [
        {"artifacts": {"layer_0/cluster_summary.json": big, "scores/val.json": {"acc": 1, "pad": "x" * 5000}}},
        {"artifacts": {"layer_0/cluster_summary.json": SUMMARY, "scores/val.json": {"acc": 0.5}}}], name)
    downloaded = []
    real = HttpArtifactRepository._download_file

    def download(self, remote_file_path, local_path):
        downloaded.append((sweep.run_ids.index(next(r for r in sweep.run_ids if r in self.artifact_uri)),
                           remote_file_path))
        if local_path is not None:
            return real(self, remote_file_path, local_path)

    monkeypatch.setattr(HttpArtifactRepository, "_download_file", download)
    real_fetch = remote_module.fetch_http

    def fetch(repo, rel, local_path, limit):
        download(repo, rel, None)  # only recorded
        return real_fetch(repo, rel, local_path, limit)

    monkeypatch.setattr(remote_module, "fetch_http", fetch)
    result = export_sweep(experiment_names=[name], tracking_uri=mlflow_server.url, write=False,
                          plugin_manager=SweepPluginManager(), parser_names=["cluster_summary"],
                          artifact_patterns=["scores/{split}.json"], max_artifact_bytes="4KB",
                          cache=False, workers=1)
    got = sorted((w.run_id, w.path) for w in result.warnings)
    assert got == [(sweep.run_ids[0], "layer_0/cluster_summary.json"), (sweep.run_ids[0], "scores/val.json")]
    assert all("more than the limit of 4,000 bytes" in w.message and w.kind == "artifact" for w in result.warnings)
    assert (0, "scores/val.json") not in downloaded  # listed too large: never fetched
    assert (1, "scores/val.json") in downloaded
    assert (0, "layer_0/cluster_summary.json") in downloaded  # a literal path: fetched, never loaded
    df = result.df
    assert df.loc[df["run_id"] == sweep.run_ids[1], "acc"].dropna().tolist() == [0.5]


@pytest.mark.server
def test_a_file_fetched_without_a_listing_never_fills_the_disk_past_the_limit(mlflow_server, tmp_path):
    """A GET of unknown size stops at the limit: what is on disk is never more."""
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_plugin.export.remote import fetch_http, repository
    from mlflow_sweep_plugin.limits import ArtifactTooLarge
    from scale_test_helpers import log_to_server

    sweep = log_to_server(mlflow_server, [{"artifacts": {"layer_0/cluster_summary.json": "x" * (3 << 20)}}],
                          "fills-disk")
    uri = MlflowClient(mlflow_server.url).get_run(sweep.run_ids[0]).info.artifact_uri
    repo = repository(uri, mlflow_server.url)
    assert isinstance(repo, HttpArtifactRepository)
    target = tmp_path / "part"
    with pytest.raises(ArtifactTooLarge, match="more than the limit of 1,048,576 bytes"):
        fetch_http(repo, "layer_0/cluster_summary.json", str(target), 1 << 20)
    assert not target.exists() or target.stat().st_size <= 1 << 20
    fetch_http(repo, "layer_0/cluster_summary.json", str(target), 4 << 20)  # under the limit: all of it
    assert target.stat().st_size == 3 << 20 and target.read_bytes()[:3] == b"xxx"

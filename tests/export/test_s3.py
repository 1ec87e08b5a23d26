"""The S3 reader (``export/s3.py``) against a real S3 endpoint (moto's server mode).

A sweep's runs are listed without a delimiter, once per experiment prefix shared by the
export's runs (a handful of requests, not one per directory); the listing it gives is
the one a local reader gives for the same tree; a same-size rewrite is seen by the
cache; a shared listing that would cost more than listing the runs one by one stops;
an endpoint that is not there is a warning naming it, never a credential.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from mlflow_sweep_plugin.export import export_sweep
from mlflow_sweep_plugin.export import s3 as s3_module
from mlflow_sweep_plugin.export.plan import ListingPlan
from mlflow_sweep_plugin.export.readers import LocalArtifactReader
from mlflow_sweep_plugin.export.s3 import S3ArtifactReader, S3Listings
from mlflow_sweep_plugin.export.session import ReadSession, reader_for
from mlflow_sweep_plugin.plugins import SweepPluginManager
from mlflow_sweep_plugin.testing import log_sweep, write_artifact
from sweep_test_helpers import summary_for
from sweep_test_helpers import cli

pytestmark = pytest.mark.stores

DATA = pathlib.Path(__file__).parent.parent / "data"


def base_summary() -> dict:
    return json.loads((DATA / "clustering_run" / "layer_0" / "cluster_summary.json").read_text())


def layered(n_runs: int, layers: int = 3, extra=None) -> list[dict]:
    base = base_summary()
    runs = []
    for i in range(n_runs):
        arts = {f"layer_{j}/cluster_summary.json": summary_for(base, j) for j in range(layers)}
        arts.update(extra or {})
        runs.append({"run_name": f"r{i}", "params": {"force_k": i}, "artifacts": arts})
    return runs


def export(store, name="s3", **options):
    return export_sweep(experiment_names=[name], tracking_uri=store.tracking_uri, write=False,
                        plugin_manager=SweepPluginManager(), parser_names=["cluster_summary"], **options)


@pytest.fixture
def store(sweep_store_factory):
    return sweep_store_factory(backend="postgresql", artifacts="s3", current=True)


def test_a_sweep_is_listed_in_a_few_requests_and_a_warm_export_fetches_nothing(store):
    log_sweep(store, layered(30, extra={"checkpoints/a.bin": b"\0" * 10, "plots/p.png": b"png"}), "s3")
    cold = export(store)
    assert len(cold.df) == 90 and not cold.warnings
    # 30 runs x 5 keys under one experiment prefix: one listing request, one GET per file
    assert cold.stats["s3_list"] == 1
    assert cold.stats["s3_get"] == 90
    warm = export(store)
    assert warm.stats["cache_hits"] == 30 and warm.stats["files_read"] == 0
    assert warm.stats["s3_list"] == 1 and warm.stats.get("s3_get", 0) == 0
    assert warm.df.equals(cold.df)
    one = export(store, filter_string="params.force_k = '3'")  # a run alone lists its own prefix
    assert len(one.df) == 3 and one.stats["s3_list"] == 1


def test_a_same_size_rewrite_after_the_run_ended_is_seen(store, tmp_path):
    base = base_summary()
    first = summary_for(base, 0)
    sweep = log_sweep(store, [{"artifacts": {"layer_0/cluster_summary.json": first}},
                              {"artifacts": {"layer_0/cluster_summary.json": first}}], "s3")
    before = export(store)
    ecr = before.df["energy_contrast_ratio"].tolist()
    text = json.dumps(first, indent=2)
    old = json.dumps(first["energy_contrast_ratio"])
    new = old[:-1] + ("1" if old[-1] != "1" else "2")  # same length, another value
    assert len(new) == len(old) and text.count(f'"energy_contrast_ratio": {old}') == 1
    rewritten = text.replace(f'"energy_contrast_ratio": {old}', f'"energy_contrast_ratio": {new}')
    uri = store.client.get_run(sweep.run_ids[1]).info.artifact_uri
    bucket, prefix = s3_module.split_uri(uri)
    store.bucket.server.client().put_object(Bucket=bucket, Key=f"{prefix}/layer_0/cluster_summary.json",
                                            Body=rewritten.encode())
    after = export(store)
    assert after.stats["cache_hits"] == 1 and after.stats["files_read"] == 1
    assert after.df["energy_contrast_ratio"].tolist() == [ecr[0], json.loads(new)]


def test_listing_matches_a_local_reader_of_the_same_tree(store, tmp_path):
    tree = {"layer_0/cluster_summary.json": "{}", "layer_0/notes.txt": "n", "layer_12/cluster_summary.json": "{}",
            "layer_1/deeper/x.json": "{}", "checkpoints/model.bin": b"\0", "top.json": "{}",
            "eval/val/scores.json": "{}", "eval/test/scores.json": "{}", "eval/readme.md": "r"}
    local = tmp_path / "run"
    for path, value in tree.items():
        write_artifact(local, path, value)
    s3 = store.bucket.server.client()
    for path in tree:
        s3.put_object(Bucket=store.bucket.name, Key=f"exp/0123/artifacts/{path}", Body=(local / path).read_bytes())
    uri = f"s3://{store.bucket.name}/exp/0123/artifacts"
    for patterns in (["layer_{layer}/cluster_summary.json"], ["eval/{split}/scores.json", "top.json"],
                     ["**/*.json"], ["layer_{layer}/{name}"]):
        plan = ListingPlan(patterns)
        remote = S3ArtifactReader(uri, plan, listings=S3Listings(plan))
        here = LocalArtifactReader(str(local), plan)
        assert remote.list() == here.list(), patterns
        assert remote.list_all() == here.list_all()
        for d in ("layer_0", "eval", "", "checkpoints"):
            assert sorted(remote.list_dir(d)) == sorted(here.list_dir(d)), (patterns, d)
    assert remote.read("top.json") == b"{}"
    with pytest.raises(FileNotFoundError):
        remote.read("nope.json")
    assert remote.read_errors == 0
    session = ReadSession([], tracking_uri=store.tracking_uri)
    assert isinstance(reader_for(uri, session=session), S3ArtifactReader)


def test_a_shared_listing_stops_when_it_would_cost_more_than_the_runs(store, monkeypatch):
    """Two runs exported out of an experiment whose other runs hold many keys: the
    experiment's listing stops after its budget and the runs list their own prefix."""
    picked = [dict(r, tags={"pick": "yes"}) for r in layered(2)]
    runs = picked + [{"run_name": f"big{i}", "params": {"force_k": 100 + i},
                          "artifacts": {f"checkpoints/c{j}.bin": b"\0" for j in range(6)}} for i in range(6)]
    log_sweep(store, runs, "s3")
    monkeypatch.setattr(s3_module, "PAGE_KEYS", 4)  # 6 + 36 keys: 11 pages for the whole prefix
    result = export(store, filter_string="tags.pick = 'yes'")
    assert len(result.df) == 6 and not result.warnings
    assert result.stats["s3_list"] <= 2 + 2 * 2  # the budget (2 pages), then each run's own


def test_an_export_of_many_pages_equals_the_one_of_few(store, monkeypatch):
    log_sweep(store, layered(24), "s3")
    few = export(store, cache=False)
    monkeypatch.setattr(s3_module, "PAGE_KEYS", 5)  # 72 keys: 15 pages of the shared listing
    many = export(store, cache=False, workers=4)
    assert many.stats["s3_list"] == 15 and not many.warnings
    key = ["run_id", "layer"]
    assert many.df.sort_values(key).reset_index(drop=True).equals(few.df.sort_values(key).reset_index(drop=True))


def test_an_unreachable_endpoint_is_a_warning_naming_it_and_no_credential(store, monkeypatch, tmp_path):
    from mlflow_sweep_plugin.testing import free_port

    log_sweep(store, layered(2, layers=1), "s3")
    secret = "s3cr3t-never-printed-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    result = export(store, cache=False)
    assert [w.path for w in result.warnings] == ["", ""]
    assert all("S3 endpoint unreachable" in w.message for w in result.warnings)
    code, out, err = cli("export", "--experiment-name", "s3", "--tracking-uri", store.tracking_uri,
                         "-o", tmp_path / "t.csv")
    assert code == 0 and "S3 endpoint unreachable" in err
    assert secret not in err + out


def test_an_artifact_store_gone_for_every_run_is_exit_3(store, monkeypatch, tmp_path):
    from mlflow_sweep_plugin.testing import free_port

    log_sweep(store, layered(10, layers=1), "s3")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = cli("export", "--experiment-name", "s3", "--tracking-uri", store.tracking_uri,
                       "-o", tmp_path / "t.csv", "--no-cache")
    assert code == 3, err
    assert f"s3://{store.bucket.name}/" in err and "unreachable" in err
    assert not (tmp_path / "t.csv").exists()

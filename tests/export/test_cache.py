"""The on-disk cache of ended runs: served when nothing changed, never stale."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import types
import zlib

import pandas as pd
import pytest

from mlflow_sweep_plugin import hookimpl
from mlflow_sweep_plugin.export import cache as cache_rules
from mlflow_sweep_plugin.export import readers
from mlflow_sweep_plugin.export.cache import run_key, store_identity
from mlflow_sweep_plugin.export.cache_store import FILENAME, ExportCache
from mlflow_sweep_plugin.export.paths import local_path_of
from mlflow_sweep_plugin.export.plan import ListingPlan
from mlflow_sweep_plugin.export.readers import LocalArtifactReader

DEFAULT_RACY_NS = cache_rules.RACY_NS
SUMMARY = {"layer": 0, "energy_contrast_ratio": 0.5, "geometry_fits": {}}


def doc(layer, ecr):
    return dict(SUMMARY, layer=layer, energy_contrast_ratio=ecr)


def artifact_dir(sweep, i):
    return local_path_of(sweep.store.client.get_run(sweep.run_ids[i]).info.artifact_uri)


@pytest.fixture(autouse=True, params=["listing", "stat"])
def check(request, monkeypatch):
    """Every test here runs with both cache checks: listing the run's directories, and
    stat'ing what was listed (used for listings older than RACY_NS: all of them here)."""
    monkeypatch.setattr(cache_rules, "RACY_NS", 0 if request.param == "stat" else 10 ** 18)
    return request.param


def tick():
    """Let the file-system clock move on (its timestamps are coarse: a few ms on Linux)
    before changing files an export has just listed."""
    time.sleep(0.03)


def rewrite(path, text):
    """Rewrite a file in place; bump its mtime so even a same-size edit is visible."""
    tick()
    st = os.stat(path)
    with open(path, "w") as fh:
        fh.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def cache_db(sweep_store):
    return sqlite3.connect(os.path.join(os.environ["MLFLOW_SWEEP_CACHE_DIR"], FILENAME))


@pytest.fixture
def sweep(make_sweep):
    return make_sweep([
        {"run_name": "a", "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.11),
                                        "layer_1/cluster_summary.json": doc(1, 0.12)}},
        {"run_name": "b", "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.21)}},
        {"run_name": "bad", "status": "FAILED",
         "artifacts": {"layer_0/cluster_summary.json": "{not json"}},
        {"run_name": "live", "status": "RUNNING",
         "artifacts": {"layer_0/cluster_summary.json": doc(0, 0.41)}},
    ])


def ecr(df, run_name):
    return df[df["run_name"] == run_name].sort_values("layer")["energy_contrast_ratio"].tolist()


def test_served_when_unchanged_reread_when_changed_running_never_cached(sweep, sweep_exporter,
                                                                       sweep_store, check):
    cold = sweep_exporter()
    warm = sweep_exporter()
    assert cold.stats["cache_hits"] == 0 and cold.stats["cache_misses"] == 3
    assert warm.stats["cache_hits"] == 3 and warm.stats["uncached"] == 1  # the running run
    assert warm.stats["files_read"] == 1  # only the running run's file was read again
    pd.testing.assert_frame_equal(cold.df, warm.df)
    # a malformed file's warning is remembered with its rows
    assert [str(w) for w in warm.warnings] == [str(w) for w in cold.warnings]
    assert "layer_0/cluster_summary.json" in str(warm.warnings[0])

    a, b, live = artifact_dir(sweep, 0), artifact_dir(sweep, 1), artifact_dir(sweep, 3)
    with cache_db(sweep_store) as db:
        manifests = [r[0] for r in db.execute("SELECT manifest FROM entries")]
    assert all(manifests) if check == "stat" else not any(manifests)
    # files no pattern matches do not invalidate
    tick()
    os.makedirs(os.path.join(a, "checkpoints"))
    with open(os.path.join(a, "checkpoints", "model.bin"), "wb") as fh:
        fh.write(b"\0" * 100)
    assert sweep_exporter().stats["cache_hits"] == 3
    assert sweep_exporter().stats["cache_hits"] == 3  # (the stat check was renewed)

    # same size, new content; a layer logged after the run ended; a running run's change
    rewrite(os.path.join(a, "layer_0", "cluster_summary.json"), json.dumps(doc(0, 0.99), indent=2))
    os.makedirs(os.path.join(b, "layer_5"))
    with open(os.path.join(b, "layer_5", "cluster_summary.json"), "w") as fh:
        json.dump(doc(5, 0.25), fh)
    rewrite(os.path.join(live, "layer_0", "cluster_summary.json"), json.dumps(doc(0, 0.42), indent=2))
    again = sweep_exporter()
    assert ecr(again.df, "a") == [0.99, 0.12]
    assert ecr(again.df, "b") == [0.21, 0.25]
    assert ecr(again.df, "live") == [0.42]
    assert again.stats["cache_misses"] == 2 and again.stats["cache_hits"] == 1

    tick()
    os.remove(os.path.join(a, "layer_1", "cluster_summary.json"))
    assert ecr(sweep_exporter().df, "a") == [0.99]
    with cache_db(sweep_store) as db:
        cached_ids = {r[0] for r in db.execute("SELECT run_id FROM entries")}
    assert cached_ids == set(sweep.run_ids[:3])  # never the running run


def _plugin(version, factor, reads_extra=False, lists=False):
    def parse(data, ctx):
        rec = {"value": data["v"] * factor}
        if reads_extra:
            rec["extra"] = json.loads(ctx.read("extra/info.json"))["x"]
        if lists:
            rec["n_files"] = len(ctx.list())
        return [rec]

    @hookimpl
    def sweep_register_parsers(register):
        register("scores", "scores.json", parse, version=version)

    module = types.ModuleType("scores_plugin")
    module.sweep_register_parsers = sweep_register_parsers
    return module


def test_parser_version_and_files_a_parser_reads_or_lists(make_sweep, sweep_exporter):
    sweep = make_sweep([{"artifacts": {"scores.json": {"v": 2}, "extra/info.json": {"x": "one"}}}])
    root = artifact_dir(sweep, 0)
    opts = {"load_entry_points": False, "parser_names": ["scores"]}
    assert sweep_exporter(plugins=[_plugin("1", 10)], **opts).df["value"].tolist() == [20]
    same = sweep_exporter(plugins=[_plugin("1", 10)], **opts)
    assert same.stats["cache_hits"] == 1
    newer = sweep_exporter(plugins=[_plugin("2", 100)], **opts)
    assert newer.stats["cache_hits"] == 0 and newer.df["value"].tolist() == [200]

    reader = _plugin("3-extra", 1, reads_extra=True)  # other output: another version
    assert sweep_exporter(plugins=[reader], **opts).df["extra"].tolist() == ["one"]
    rewrite(os.path.join(root, "extra", "info.json"), json.dumps({"x": "two"}))
    assert sweep_exporter(plugins=[reader], **opts).df["extra"].tolist() == ["two"]
    tick()
    os.remove(os.path.join(root, "extra", "info.json"))  # now the parser fails: a warning, no row
    gone = sweep_exporter(plugins=[reader], **opts)
    assert "extra/info.json" in str(gone.warnings[0]) and "extra" not in gone.df.columns

    lister = _plugin("4-lists", 1, lists=True)
    assert sweep_exporter(plugins=[lister], **opts).df["n_files"].tolist() == [1]
    tick()
    with open(os.path.join(root, "anything.txt"), "w") as fh:
        fh.write("x")
    assert sweep_exporter(plugins=[lister], **opts).df["n_files"].tolist() == [2]


def test_cli_no_cache_refresh_and_other_stores(sweep, sweep_cli, sweep_exporter, sweep_store, tmp_path):
    out = tmp_path / "t.csv"
    sweep_cli("export", "--experiment-name", "sweep", "-o", out, "--no-cache").assert_success()
    assert not os.path.exists(os.path.join(os.environ["MLFLOW_SWEEP_CACHE_DIR"], FILENAME))
    first = sweep_cli("export", "--experiment-name", "sweep", "-o", out).assert_success()
    assert "from the cache" not in first.stderr
    again = sweep_cli("export", "--experiment-name", "sweep", "-o", out)
    assert "(3 of 4 runs from the cache)" in again.stderr  # the running run is read afresh
    # tamper with the cache: a served entry shows the tampered value...
    with cache_db(sweep_store) as db:
        key, blob = db.execute("SELECT key, payload FROM entries WHERE run_id = ?",
                               (sweep.run_ids[1],)).fetchone()
        payload = json.loads(zlib.decompress(blob))
        payload["records"][0]["energy_contrast_ratio"] = -1.0
        db.execute("UPDATE entries SET payload = ? WHERE key = ?",
                   (zlib.compress(json.dumps(payload).encode()), key))
    sweep_cli("export", "--experiment-name", "sweep", "-o", out).assert_success()
    assert ecr(pd.read_csv(out), "b") == [-1.0]
    # ...--no-cache ignores it, --refresh replaces it
    sweep_cli("export", "--experiment-name", "sweep", "-o", out, "--no-cache").assert_success()
    assert ecr(pd.read_csv(out), "b") == [0.21]
    sweep_cli("export", "--experiment-name", "sweep", "-o", out, "--refresh").assert_success()
    assert ecr(pd.read_csv(out), "b") == [0.21]
    sweep_cli("export", "--experiment-name", "sweep", "-o", out).assert_success()
    assert ecr(pd.read_csv(out), "b") == [0.21]

    copy = tmp_path / "copy.db"
    shutil.copyfile(sweep_store.root / "mlflow.db", copy)  # same run ids, another store
    other = sweep_exporter(tracking_uri=f"sqlite:///{copy}")
    assert other.stats["cache_hits"] == 0 and other.stats["cache_misses"] == 3
    assert store_identity("http://u:p@h:5000") == "http://***@h:5000"
    run = sweep_store.client.get_run(sweep.run_ids[0])
    assert run_key("sqlite:///a.db", run, "p") != run_key("sqlite:///b.db", run, "p")
    assert run_key("sqlite:///a.db", run, "p") != run_key("sqlite:///a.db", run, "q")


def test_a_corrupt_or_unusable_cache_never_fails_the_export(sweep, sweep_exporter, tmp_path):
    cache_dir = tmp_path / "c"
    cache_dir.mkdir()
    (cache_dir / FILENAME).write_bytes(b"this is not a database" * 100)
    first = sweep_exporter(cache_dir=str(cache_dir))
    assert "cache_error" not in first.stats and first.stats["cache_misses"] == 3
    assert sweep_exporter(cache_dir=str(cache_dir)).stats["cache_hits"] == 3
    assert any(p.name.startswith(FILENAME + ".corrupt-") for p in cache_dir.iterdir())

    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = sweep_exporter(cache_dir=str(blocker / "sub"))  # a directory under a file
    assert len(result.df) == 5 and "cache_error" in result.stats
    assert not ExportCache(str(blocker / "sub")).enabled


def test_the_stat_check_sees_what_a_listing_would(tmp_path, monkeypatch):
    root = tmp_path / "run"
    (root / "layer_0").mkdir(parents=True)
    (root / "layer_0" / "cluster_summary.json").write_text("{}")
    (root / "plots").mkdir()
    plan = ListingPlan(["layer_{layer}/cluster_summary.json"])
    monkeypatch.setattr(cache_rules, "RACY_NS", DEFAULT_RACY_NS)

    def manifest():
        reader = LocalArtifactReader(str(root), plan)
        reader.list()
        return cache_rules.manifest(reader, cache_rules.snapshot(reader, cache_rules.scope_of(reader)))

    def same(m):
        return cache_rules.manifest_holds(LocalArtifactReader(str(root), plan), m)

    assert manifest() is None  # just written: a clock tick could hide the next change
    monkeypatch.setattr(cache_rules, "RACY_NS", 0)
    m = manifest()
    assert m["dirs"] == ["", "layer_0"] and m["files"] == ["layer_0/cluster_summary.json"]
    assert same(m)
    for change in (lambda: (root / "layer_1").mkdir(),                            # a new layer
                   lambda: (root / "layer_0" / "other.json").write_text("x"),     # a new file
                   lambda: (root / "layer_0" / "cluster_summary.json").write_text("{ }"),  # a rewrite
                   lambda: (root / "layer_0" / "cluster_summary.json").unlink()):  # a removal
        m = manifest()
        tick()
        change()
        assert not same(m)
    m = manifest()
    tick()
    (root / "plots" / "loss.png").write_bytes(b"x")  # under a directory no pattern reaches
    assert same(m)


def test_a_file_parsers_read_beside_their_own_is_fetched_once_per_run(make_sweep, sweep_exporter, monkeypatch):
    def parse(data, ctx):
        return [{"v": data["v"], "shared": json.loads(ctx.read("shared.json"))["s"]}]

    @hookimpl
    def sweep_register_parsers(register):
        register("a", "a.json", parse)
        register("b", "b.json", parse)

    module = types.ModuleType("two_readers")
    module.sweep_register_parsers = sweep_register_parsers
    make_sweep([{"artifacts": {"a.json": {"v": i}, "b.json": {"v": 10 + i}, "shared.json": {"s": f"run{i}"}}}
                for i in range(2)])
    reads = []
    real_read = readers.LocalArtifactReader.read
    monkeypatch.setattr(readers.LocalArtifactReader, "read",
                        lambda self, path: reads.append(path) or real_read(self, path))
    result = sweep_exporter(plugins=[module], load_entry_points=False, parser_names=["a", "b"], cache=False)
    assert sorted(zip(result.df["v"], result.df["shared"])) == [(0, "run0"), (1, "run1"), (10, "run0"),
                                                                (11, "run1")]
    assert sorted(reads) == ["a.json", "a.json", "b.json", "b.json", "shared.json", "shared.json"]

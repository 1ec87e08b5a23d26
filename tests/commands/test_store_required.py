"""The reading commands never create or change a store: ``export``, ``report``,
``flatten`` and ``sync`` against a sqlite file that is missing or not an MLflow
database are exit 3 ("no tracking store at ...") and leave the disk as it was;
``demo`` and the logging API still create stores."""

from __future__ import annotations

import inspect
import os
import sqlite3

import pytest

from mlflow_sweep_plugin.envvars import scoped_environ
from mlflow_sweep_plugin.testing.store import mlflow_globals_restored
from mlflow_sweep_plugin.testing.versions import mlflow_major

from mlflow_sweep_plugin.errors import NoTrackingStore
from mlflow_sweep_plugin.stores import require_store, sqlite_path


def cli(*args, env=None):
    """``mlflow-sweep`` in-process, without the sweep_store fixture's store."""
    from click.testing import CliRunner

    from mlflow_sweep_plugin.cli import main

    kwargs = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters else {}
    return CliRunner(**kwargs).invoke(main, [str(a) for a in args], env=env)


def tree(root) -> dict:
    """Every path under ``root`` with its size (directories: None)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            full = os.path.join(dirpath, f)
            out[os.path.relpath(full, root)] = os.path.getsize(full)
    return out


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A working directory of its own, no tracking URI from the environment or from MLflow's
    globals (an earlier test's ``set_tracking_uri``), and whatever the commands run here set
    in MLflow's globals (``demo``) put back after."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID")
    with scoped_environ(dict.fromkeys(names)), mlflow_globals_restored(default_uri=True):
        yield _place(tmp_path, monkeypatch)


def _place(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_SWEEP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_SWEEP_SPOOL_DIR", str(work / "spool"))
    (work / "empty.db").write_bytes(b"")
    (work / "notes.db").write_text("not a database\n")
    con = sqlite3.connect(work / "other.db")  # a real SQLite database, not MLflow's
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    return work


BAD_STORES = {
    "missing directories": "missing/dir/x.db",
    "0-byte file": "empty.db",
    "text file": "notes.db",
    "another sqlite database": "other.db",
}


def _commands(uri):
    return {
        "export": ["export", "--experiment-name", "x", "--tracking-uri", uri, "-o", "out.csv"],
        "report": ["report", "--experiment-name", "x", "--tracking-uri", uri, "-o", "rep"],
        "flatten": ["flatten", "0123456789abcdef", "--tracking-uri", uri],
        "flatten-exp": ["flatten", "--experiment-name", "x", "--tracking-uri", uri],
    }


@pytest.mark.parametrize("store", list(BAD_STORES))
def test_reading_commands_never_create_or_change_a_store(place, store):
    uri = f"sqlite:///{BAD_STORES[store]}"
    for name, args in _commands(uri).items():
        before = tree(place)
        res = cli(*args)
        assert res.exit_code == 3, (name, res.exit_code, res.stderr, res.exception)
        assert f"no tracking store at {uri}" in res.stderr, (name, res.stderr)
        assert "Traceback" not in res.stderr
        assert tree(place) == before, name  # nothing created, nothing grown
    assert (place / "empty.db").stat().st_size == 0
    assert (place / "notes.db").read_text() == "not a database\n"


def test_default_store_missing_is_exit_3_and_not_created(place):
    if mlflow_major() < 3:
        pytest.skip("MLflow 2.x's default store is ./mlruns, a file store: "
                    "test_missing_file_store_directory_is_not_created covers it")
    res = cli("export", "--experiment-name", "x")
    assert res.exit_code == 3, res.stderr
    assert "no tracking store at sqlite:///" in res.stderr and "mlflow.db does not exist" in res.stderr
    assert not (place / "mlflow.db").exists()


def test_missing_file_store_directory_is_not_created(place):
    res = cli("export", "--experiment-name", "x", "--tracking-uri", (place / "mlruns").as_uri())
    assert res.exit_code == 3, res.stderr
    assert not (place / "mlruns").exists()


def test_sync_never_creates_the_store_it_replays_into(place):
    from mlflow_sweep_plugin.tracking.spool import Spool

    uri = "sqlite:///missing/dir/x.db"
    spool = Spool.create(place / "spool", {"experiment_name": "e", "tracking_uri": uri})
    spool.log_batch(params={"a": 1})
    spool.end("FINISHED")
    def outside_spool():  # sync's own lock file in the spool is no store
        return {k: v for k, v in tree(place).items() if not k.startswith("spool")}

    for args in (["sync"], ["sync", "--tracking-uri", "sqlite:///empty.db"]):
        before = outside_spool()
        res = cli(*args)
        assert res.exit_code == 3, (args, res.stderr, res.exception)
        assert "no tracking store at sqlite:///" in res.stderr
        assert outside_spool() == before
    assert not (place / "missing").exists() and (place / "empty.db").stat().st_size == 0
    assert (place / "spool" / spool.spool_id / "run.json").exists()  # the spool is kept


def test_export_sweep_raises_the_sweep_error(place):
    from mlflow_sweep_plugin.export import export_sweep

    with pytest.raises(NoTrackingStore, match="no tracking store at sqlite:///empty.db"):
        export_sweep(experiment_names=["x"], tracking_uri="sqlite:///empty.db", write=False)
    assert (place / "empty.db").stat().st_size == 0


def test_a_real_store_passes_and_is_not_touched(sweep_store):
    path = sqlite_path(sweep_store.tracking_uri)
    before = os.stat(path).st_mtime_ns, os.path.getsize(path)
    assert require_store(sweep_store.tracking_uri) == sweep_store.tracking_uri
    assert (os.stat(path).st_mtime_ns, os.path.getsize(path)) == before
    assert sqlite_path("sqlite://") == "" and sqlite_path("http://x") is None
    require_store("http://127.0.0.1:9")  # remote stores are found out by their first call


def test_unknown_scheme_is_a_usage_error(place):
    for args in (["export", "--experiment-name", "x"], ["flatten", "abc"], ["demo", "--runs", "1"],
                 ["report", "--experiment-name", "x"]):
        res = cli(*args, "--tracking-uri", "foo://bar")
        assert res.exit_code == 2, (args, res.exit_code, res.stderr, res.exception)
        assert "unsupported tracking URI foo://bar" in res.stderr
        assert "Traceback" not in res.stderr


def test_demo_and_the_logging_api_still_create_stores(place):
    from mlflow_sweep_plugin import log_config, sweep_run

    res = cli("demo", "--runs", "1", "--tracking-uri", "sqlite:///new/demo.db", "-o", "demo.csv")
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert (place / "new" / "demo.db").stat().st_size > 0
    with sweep_run("made", run_name="r", tracking_uri="sqlite:///api.db") as run:
        log_config({"a": 1})
        assert run.run_id
    assert require_store("sqlite:///api.db")

"""Remote export through a real ``mlflow server`` (``mlflow-artifacts:/`` URIs).

The same sweep logged to the local sqlite store and to the server must export to the
same table; flaky connections are retried; a file that never comes back is one warning.
"""

from __future__ import annotations

import http.server
import json
import math
import pathlib
import socketserver
import threading
import urllib.error
import urllib.request
import uuid

import pandas as pd
import pytest

from mlflow_sweep_plugin.export import export_sweep
from mlflow_sweep_plugin.export.remote import RemoteArtifactReader
from mlflow_sweep_plugin.export.session import ReadSession, reader_for
from mlflow_sweep_plugin.plugins import SweepPluginManager
from scale_test_helpers import log_to_server, tracking_uri_set_to
from sweep_test_helpers import summary_for

pytestmark = pytest.mark.server

VOLATILE = ["run_id", "start_time", "end_time"]


def sweep_spec(base: dict) -> list[dict]:
    """A small clustering sweep with every case: all layers, a missing layer, a NaN fit,
    a failed run, a malformed file and files no parser reads."""
    nan_fit = summary_for(base, 0)
    nan_fit["geometry_fits"]["0"]["distances"]["circle"] = float("nan")
    runs = [
        {"run_name": "all", "params": {"sae_type": "relu", "force_k": 3},
         "metrics": {"loss": 0.25},
         "artifacts": {f"layer_{i}/cluster_summary.json": summary_for(base, i) for i in range(3)}},
        {"run_name": "nan_and_gap", "params": {"sae_type": "topk", "force_k": 4},
         "artifacts": {"layer_0/cluster_summary.json": nan_fit,
                       "layer_2/cluster_summary.json": summary_for(base, 2),
                       "checkpoints/model.bin": b"\x00" * 64, "notes/readme.txt": "hello"}},
        {"run_name": "crashed", "params": {"sae_type": "relu", "force_k": 6}, "status": "FAILED"},
        {"run_name": "bad", "params": {"sae_type": "topk", "force_k": 3},
         "artifacts": {"layer_0/cluster_summary.json": summary_for(base, 0),
                       "layer_1/cluster_summary.json": '{"layer": 1, "energy_con'}},
    ]
    for i in range(4):  # a few more ordinary runs, so parallel reads interleave
        runs.append({"run_name": f"extra_{i}", "params": {"sae_type": "relu", "force_k": 3 + i},
                     "artifacts": {"layer_0/cluster_summary.json": summary_for(base, 0),
                                   "layer_1/cluster_summary.json": summary_for(base, 1)}})
    return runs


def export(uri, name, cache_dir, **options):
    pm = SweepPluginManager()
    return export_sweep(experiment_names=[name], tracking_uri=uri, plugin_manager=pm, write=False,
                        cache_dir=str(cache_dir), **options)


def comparable(df):
    return df.drop(columns=VOLATILE).reset_index(drop=True)


@pytest.fixture(scope="module")
def server_sweep(mlflow_server, example_summary_module):
    name = f"remote-{uuid.uuid4().hex[:8]}"
    sweep = log_to_server(mlflow_server, sweep_spec(example_summary_module), name)
    return mlflow_server, name, sweep


@pytest.fixture(scope="module")
def example_summary_module():
    data = pathlib.Path(__file__).parent.parent / "data" / "clustering_run" / "layer_0" / "cluster_summary.json"
    return json.loads(data.read_text())


def test_server_and_local_store_give_identical_tables(server_sweep, sweep_store, make_sweep,
                                                      example_summary, tmp_path):
    from mlflow.tracking import MlflowClient

    server, name, sweep = server_sweep
    make_sweep(sweep_spec(example_summary), experiment_name=name)

    local = export(sweep_store.tracking_uri, name, tmp_path / "c1")
    remote = export(server.url, name, tmp_path / "c2")
    remote_serial = export(server.url, name, tmp_path / "c3", workers=1)

    # the server's runs really are read remotely, through mlflow-artifacts:/
    art = MlflowClient(server.url).get_run(sweep.run_ids[0]).info.artifact_uri
    assert art.startswith("mlflow-artifacts:/")
    assert isinstance(reader_for(art, session=ReadSession([], tracking_uri=server.url)), RemoteArtifactReader)

    assert len(local.df) == 3 + 2 + 1 + 1 + 4 * 2
    pd.testing.assert_frame_equal(comparable(local.df), comparable(remote.df))
    pd.testing.assert_frame_equal(remote.df, remote_serial.df)  # parallel == serial, row for row
    # same warnings, naming run and path
    assert [(w.path, w.parser) for w in local.warnings] == [(w.path, w.parser) for w in remote.warnings] \
        == [("layer_1/cluster_summary.json", "cluster_summary")]
    assert remote.warnings[0].run_id == sweep.run_ids[3]
    nan_row = remote.df[(remote.df["run_name"] == "nan_and_gap") & (remote.df["layer"] == 0)].iloc[0]
    assert math.isnan(nan_row["cluster_0_circle_dist"])
    assert remote.stats["files_read"] == local.stats["files_read"] == 3 + 2 + 1 + 8


def test_remote_rows_follow_the_listing_order(server_sweep, tmp_path):
    server, name, sweep = server_sweep
    result = export(server.url, name, tmp_path / "c", workers=8, cache=False)
    order = list(dict.fromkeys(result.df["run_id"]))
    assert order == sweep.run_ids  # start time order, whatever finished first


# --- a real, flaky HTTP proxy in front of the real server ------------------------------

class FlakyProxy:
    """Forwards to ``target``; the first ``fail_first`` GETs of each artifact file fail
    (alternately a 503 and a dropped connection); paths containing ``always_fail``
    always answer 500."""

    def __init__(self, target: str, fail_first: int = 2, always_fail: str | None = None):
        self.target = target.rstrip("/")
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                is_file = "/mlflow-artifacts/artifacts/" in self.path and self.path.endswith(".json")
                if is_file:
                    with proxy.lock:
                        n = proxy.seen[self.path] = proxy.seen.get(self.path, 0) + 1
                    if proxy.always_fail and proxy.always_fail in self.path:
                        return self._reply(500, b'{"error": "disk on fire"}')
                    if n <= proxy.fail_first:
                        if n % 2 == 1:
                            return self._reply(503, b"busy")
                        self.close_connection = True  # reset: no answer at all
                        self.connection.shutdown(2)
                        return
                self._forward("GET")

            def do_POST(self):
                self._forward("POST")

            def _reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                req = urllib.request.Request(proxy.target + self.path, data=body, method=method)
                for k in ("Content-Type", "Authorization"):
                    if self.headers.get(k):
                        req.add_header(k, self.headers[k])
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        code, data = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    code, data = err.code, err.read()
                self._reply(code, data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_transient_failures_are_retried_and_a_dead_file_is_one_warning(server_sweep, tmp_path):
    server, name, sweep = server_sweep
    clean = export(server.url, name, tmp_path / "c0", cache=False)
    bad_run = sweep.run_ids[4]
    with FlakyProxy(server.url, fail_first=2, always_fail=f"{bad_run}/artifacts/layer_1/") as proxy:
        flaky = export(proxy.url, name, tmp_path / "c1", cache=False, workers=4)
    retried = [p for p, n in proxy.seen.items() if n > 1 and bad_run not in p]
    assert retried, "the proxy should have failed (and seen retried) some downloads"
    # everything but the dead file came through
    assert [str(w) for w in flaky.warnings[:-1]] == [str(w) for w in clean.warnings]
    dead = flaky.warnings[-1]
    assert dead.run_id == bad_run and dead.path == "layer_1/cluster_summary.json" and dead.kind == "read"
    assert "500" in dead.message
    expected = clean.df[~((clean.df["run_id"] == bad_run) & (clean.df["layer"] == 1))]
    pd.testing.assert_frame_equal(comparable(flaky.df), comparable(expected))


def test_remote_cache_hits_and_sees_a_file_logged_after_the_run_ended(server_sweep, tmp_path):
    from mlflow.tracking import MlflowClient

    server, name, sweep = server_sweep
    cold = export(server.url, name, tmp_path / "c")
    warm = export(server.url, name, tmp_path / "c")
    ended = len(sweep.run_ids)
    assert cold.stats["cache_misses"] == ended and warm.stats["cache_hits"] == ended
    assert warm.stats["files_read"] == 0
    pd.testing.assert_frame_equal(cold.df, warm.df)

    # rewrite a layer of an ended run (another size) and add a layer to another
    client = MlflowClient(server.url)
    src = tmp_path / "upload" / "layer_0"
    src.mkdir(parents=True)
    (src / "cluster_summary.json").write_text(json.dumps({"layer": 0, "energy_contrast_ratio": 0.123}))
    added = tmp_path / "added" / "layer_1"
    added.mkdir(parents=True)
    (added / "cluster_summary.json").write_text(json.dumps({"layer": 1, "energy_contrast_ratio": 0.5}))
    with tracking_uri_set_to(server.url):
        client.log_artifacts(sweep.run_ids[0], str(src.parent))
        client.log_artifacts(sweep.run_ids[1], str(added.parent))  # nan_and_gap had no layer_1
    again = export(server.url, name, tmp_path / "c")
    # the new directory is seen; the rewrite inside layer_0/, a directory that was there,
    # is not (the cache's shallow check lists the run's root only) until --refresh
    assert again.stats["cache_misses"] == 1 and again.stats["cache_hits"] == ended - 1
    assert sorted(again.df[again.df["run_id"] == sweep.run_ids[1]]["layer"]) == [0, 1, 2]
    fresh = export(server.url, name, tmp_path / "c", refresh=True)
    row = fresh.df[(fresh.df["run_id"] == sweep.run_ids[0]) & (fresh.df["layer"] == 0)].iloc[0]
    assert row["energy_contrast_ratio"] == 0.123

"""Benchmark: per-key ``mlflow.log_param``/``log_metric`` loop vs our logging API.

Starts a loopback ``mlflow server`` (``mlflow_sweep_plugin.testing.MlflowServer``,
sqlite backend), then in one process, each in a run of its own:

  (a) loop   the teams' helpers: ``flatten`` by hand, then ``mlflow.log_param`` per key
             and ``mlflow.log_metric`` per value;
  (b) ours   ``log_config(cfg)`` and ``log_metrics(metrics)``.

The config is nested with ``--keys`` leaves (default 1000), the metrics a nested dict
with ``--metrics`` values (default 1000). HTTP requests are counted by wrapping
``requests.Session.request`` (every MLflow REST call goes through it). Prints the
request counts, the times and the ratio a/b, and checks both runs hold the same data.

    python benchmarks/bench_logging.py [--keys 1000] [--metrics 1000]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def nested(n: int, prefix: str, value) -> dict:
    """A three-level dict with ``n`` leaves: ``{prefix0: {sub0: {key0: value(i)}}}``."""
    out: dict = {}
    for i in range(n):
        a, b, c = i // 100, (i // 10) % 10, i % 10
        out.setdefault(f"{prefix}{a}", {}).setdefault(f"sub{b}", {})[f"key{c}"] = value(i)
    return out


def naive_flatten(d: dict, parent: str = "") -> dict:
    """The teams' helper (seed 001): dotted keys, lists joined with commas."""
    items = {}
    for k, v in d.items():
        key = f"{parent}.{k}" if parent else k
        if isinstance(v, dict):
            items.update(naive_flatten(v, key))
        elif isinstance(v, list):
            items[key] = ",".join(map(str, v))
        else:
            items[key] = v
    return items


class RequestCounter:
    def __init__(self):
        import requests

        self.n = 0
        self._original = requests.Session.request
        counter = self

        def counting(session, method, url, *args, **kwargs):
            counter.n += 1
            return counter._original(session, method, url, *args, **kwargs)

        requests.Session.request = counting

    def take(self) -> int:
        n, self.n = self.n, 0
        return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=1000)
    opts = parser.parse_args()

    import mlflow
    from mlflow.tracking import MlflowClient

    from mlflow_sweep_plugin import log_config, log_metrics
    from mlflow_sweep_plugin.testing import MlflowServer

    cfg = nested(opts.keys, "group", lambda i: [i, i + 1] if i % 7 == 0 else i * 0.5)
    metrics = nested(opts.metrics, "eval", lambda i: i / 3)
    tmp = Path(tempfile.mkdtemp(prefix="bench-logging-"))
    server = MlflowServer(tmp / "server").start()
    try:
        mlflow.set_tracking_uri(server.url)
        os.environ["MLFLOW_TRACKING_URI"] = server.url
        exp_id = mlflow.create_experiment("bench-logging")
        counter = RequestCounter()
        with mlflow.start_run(experiment_id=exp_id):  # warm-up: sessions, connections
            mlflow.log_param("warm", 1)
        counter.take()

        with mlflow.start_run(experiment_id=exp_id, run_name="loop") as run_a:
            counter.take()
            t0 = time.perf_counter()
            for k, v in naive_flatten(cfg).items():
                mlflow.log_param(k, v)
            t1 = time.perf_counter()
            req_params_a = counter.take()
            for k, v in naive_flatten(metrics).items():
                mlflow.log_metric(k, v)
            t2 = time.perf_counter()
            req_metrics_a = counter.take()

        with mlflow.start_run(experiment_id=exp_id, run_name="ours") as run_b:
            counter.take()
            t3 = time.perf_counter()
            log_config(cfg)
            t4 = time.perf_counter()
            req_params_b = counter.take()
            log_metrics(metrics)
            t5 = time.perf_counter()
            req_metrics_b = counter.take()

        client = MlflowClient(server.url)
        a, b = client.get_run(run_a.info.run_id).data, client.get_run(run_b.info.run_id).data
        same = a.params == b.params and a.metrics == b.metrics
        loop_s, ours_s = t2 - t0, t5 - t3
        bound = math.ceil(opts.keys / 100) + 1
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, MLflow {mlflow.__version__}")
        print(f"config: {opts.keys} keys; metrics: {opts.metrics} values; loopback mlflow server")
        print(f"{'':8}{'param requests':>16}{'metric requests':>17}{'params s':>10}"
              f"{'metrics s':>11}{'total s':>9}")
        print(f"{'loop':8}{req_params_a:>16}{req_metrics_a:>17}{t1 - t0:>10.2f}{t2 - t1:>11.2f}"
              f"{loop_s:>9.2f}")
        print(f"{'ours':8}{req_params_b:>16}{req_metrics_b:>17}{t4 - t3:>10.2f}{t5 - t4:>11.2f}"
              f"{ours_s:>9.2f}")
        print(f"ratio loop/ours: {loop_s / ours_s:.1f}x faster; param requests "
              f"{req_params_b} (target <= ceil(keys/100)+1 = {bound}); "
              f"same params and metrics in both runs: {same}")
        ok = same and req_params_b <= bound and loop_s / ours_s >= 20
        print("targets met" if ok else "TARGETS NOT MET")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

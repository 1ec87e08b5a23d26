"""The harness's production stores (``mlflow_sweep_plugin.testing``): a throwaway
PostgreSQL cluster, moto's S3 server, and the two deployments the research teams run --
(a) the client straight to PostgreSQL with S3 artifacts, (b) ``mlflow server`` on
PostgreSQL proxying S3 (``mlflow-artifacts:/``)."""

from __future__ import annotations

import os

import pytest

from mlflow_sweep_plugin.testing import artifact_paths, log_sweep
from mlflow_sweep_plugin.testing.deployments import _retire_experiments
from mlflow_sweep_plugin.testing.postgres import PostgresCluster, mlflow_postgres_driver, postgres_bindir
from mlflow_sweep_plugin.testing.s3 import MotoS3Server, S3Bucket

pytestmark = pytest.mark.stores


def test_postgres_cluster_gives_fresh_migrated_databases(postgres_cluster):
    from mlflow.tracking import MlflowClient

    assert isinstance(postgres_cluster, PostgresCluster) and postgres_bindir()  # Debian's binaries found

    a = postgres_cluster.mlflow_database("s3://nowhere/0")
    b = postgres_cluster.mlflow_database()
    # psycopg 3 on MLflow 3.x, psycopg2 on 2.x
    assert a != b and a.startswith(f"postgresql+{mlflow_postgres_driver()}://mlflow@127.0.0.1:")
    client = MlflowClient(a)
    exp = client.create_experiment("only-in-a")
    assert client.get_experiment(exp).name == "only-in-a"
    assert [e.name for e in MlflowClient(b).search_experiments()] == ["Default"]
    assert client.get_experiment("0").artifact_location == "s3://nowhere/0"
    assert postgres_cluster.execute("SELECT 1") == [(1,)]


def test_s3_bucket_sets_the_variables_for_the_test_only(s3_bucket, s3_server):
    assert isinstance(s3_server, MotoS3Server) and isinstance(s3_bucket, S3Bucket)
    assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == s3_server.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == s3_server.access_key
    s3_server.client().put_object(Bucket=s3_bucket.name, Key="a/b.json", Body=b"{}")
    assert s3_bucket.keys() == ["a/b.json"]


def test_s3_variables_are_restored(s3_server):
    # the previous test set them with monkeypatch; nothing is left behind
    assert os.environ.get("MLFLOW_S3_ENDPOINT_URL") != s3_server.endpoint_url


def test_direct_postgresql_and_s3(sweep_store_factory):
    store = sweep_store_factory(backend="postgresql", artifacts="s3")
    sweep = log_sweep(store, [{"params": {"lr": 0.1}, "artifacts": {"layer_0/x.json": {"a": 1}}}], "direct")
    run = store.client.get_run(sweep.run_ids[0])
    assert run.info.artifact_uri.startswith(f"s3://{store.bucket.name}/artifacts/direct/")
    assert artifact_paths(store.client, run.info.run_id) == ["layer_0/x.json"]
    assert [k.rsplit("/", 2)[-2:] for k in store.bucket.keys()] == [["layer_0", "x.json"]]


def test_proxied_server_on_postgresql_and_s3(sweep_store_factory, s3_server):
    store = sweep_store_factory(backend="postgresql", artifacts="s3", server=True, current=True)
    assert os.environ["MLFLOW_TRACKING_URI"] == store.tracking_uri == store.server.url
    assert store.server.backend_uri.startswith(f"postgresql+{mlflow_postgres_driver()}://")
    assert store.server.artifacts_destination.startswith("s3://")
    sweep = log_sweep(store, [{"artifacts": {"layer_0/x.json": {"a": 1}}}], "proxied")
    run = store.client.get_run(sweep.run_ids[0])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert artifact_paths(store.client, run.info.run_id) == ["layer_0/x.json"]
    bucket = store.server.artifacts_destination[len("s3://"):].split("/", 1)[0]
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.endswith(f"{run.info.run_id}/artifacts/layer_0/x.json") for k in keys)


def test_shared_server_starts_each_test_with_only_default(sweep_store_factory):
    store = sweep_store_factory(backend="postgresql", artifacts="s3", server=True)
    # the previous test's "proxied" experiment was renamed and deleted: the name is free
    assert [e.name for e in store.client.search_experiments()] == ["Default"]
    store.create_experiment("proxied")


def test_private_server_on_postgresql_and_s3(mlflow_server_factory):
    server = mlflow_server_factory(backend="postgresql", artifacts="s3")
    sweep = log_sweep(None, [{"artifacts": {"a.json": {"a": 1}}}], "private", tracking_uri=server.url)
    from mlflow.tracking import MlflowClient

    assert artifact_paths(MlflowClient(server.url), sweep.run_ids[0]) == ["a.json"]


def test_retiring_a_shared_servers_experiments_leaves_only_default(sweep_store_factory):
    from mlflow.tracking import MlflowClient

    store = sweep_store_factory(backend="postgresql", artifacts="s3", server=True)
    client = MlflowClient(store.tracking_uri)
    client.create_experiment("to-retire")
    _retire_experiments(store.tracking_uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]

"""mlflow_sweep_plugin.sweep.table: the sweep's export table on its parent, its children
only; a failure is one warning, never the sweep's — on a real sqlite store."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from mlflow_sweep_plugin.sweep.table import log_sweep_table
from mlflow_sweep_plugin.tags import ROLE_CHILD, ROLE_JOB, ROLE_PARENT, TABLE_ARTIFACT, TAG_ROLE, TAG_SWEEP_ID
from mlflow_sweep_plugin.warning_types import SweepWarning


@pytest.fixture
def sweep(make_sweep):
    return make_sweep([
        {"run_name": "parent", "tags": {TAG_ROLE: ROLE_PARENT, TAG_SWEEP_ID: "s1"}},
        {"run_name": "c0", "params": {"lr": "0.1"}, "tags": {TAG_ROLE: ROLE_CHILD, TAG_SWEEP_ID: "s1"}},
        {"run_name": "c1", "params": {"lr": "0.2"}, "tags": {TAG_ROLE: ROLE_CHILD, TAG_SWEEP_ID: "s1"}},
        {"run_name": "job", "tags": {TAG_ROLE: ROLE_JOB, TAG_SWEEP_ID: "s1"}},
        {"run_name": "other-sweep", "tags": {TAG_ROLE: ROLE_CHILD, TAG_SWEEP_ID: "s2"}},
    ])


def test_the_table_holds_the_sweeps_children_only(sweep, sweep_store):
    client = sweep_store.client
    parent = sweep.run_ids[0]
    assert log_sweep_table(client, sweep.experiment_id, parent, "s1", exclude_run_ids=[sweep.run_ids[2]]) == 1
    with open(client.download_artifacts(parent, TABLE_ARTIFACT)) as fh:
        df = pd.read_csv(io.StringIO(fh.read()))
    assert df["run_name"].tolist() == ["c0"]
    assert df["lr"].tolist() == [0.1]


def test_a_table_that_cannot_be_logged_is_one_warning(sweep, sweep_store):
    with pytest.warns(SweepWarning, match="run no-such-run: the sweep table could not be made"):
        assert log_sweep_table(sweep_store.client, sweep.experiment_id, "no-such-run", "s1") is None

"""mlflow_sweep_plugin.backend.executors.submitit_config: the submitit settings, short
names and SLURM's formats turned into submitit's parameters, refused with a reason."""

from __future__ import annotations

import pytest

from mlflow_sweep_plugin.backend.executors.submitit_config import (DEFAULT_FOLDER, SubmititConfigError,
                                                                   submitit_parameters)


def test_short_names_become_submitits():
    cluster, folder, params = submitit_parameters({
        "partition": "gpu", "time": "1:30:00", "gpus": 2, "mem": "500M", "cpus": 4, "account": "lab",
        "cluster": "slurm", "folder": "logs/%j", "slurm_array_parallelism": 8})
    assert (cluster, folder) == ("slurm", "logs/%j")
    assert params == {"slurm_partition": "gpu", "timeout_min": 90, "gpus_per_node": 2,
                      "mem_gb": pytest.approx(500 / 1024), "cpus_per_task": 4, "slurm_account": "lab",
                      "slurm_array_parallelism": 8}


def test_defaults():
    assert submitit_parameters(None) == (None, DEFAULT_FOLDER, {})


@pytest.mark.parametrize("time, minutes", [(90, 90), ("45", 45), ("2-00:00:00", 2880), ("0:00:30", 1),
                                           ("1:02", 62), (0.2, 1)])
def test_slurm_times(time, minutes):
    assert submitit_parameters({"time": time})[2]["timeout_min"] == minutes


@pytest.mark.parametrize("mem, gb", [(16, 16), ("16G", 16), ("16GB", 16), ("1T", 1024), ("2048M", 2)])
def test_memory_sizes(mem, gb):
    assert submitit_parameters({"mem": mem})[2]["mem_gb"] == pytest.approx(gb)


@pytest.mark.parametrize("settings, match", [
    ({"time": "soon"}, "time: 'soon'"), ({"time": True}, "not a duration"),
    ({"mem": "lots"}, "mem: 'lots'"), ({"mem": False}, "not a size"),
    ({"time": 5, "timeout_min": 6}, "both set timeout_min"), (["gpu"], "must be a mapping"),
])
def test_unusable_settings_say_which_and_why(settings, match):
    with pytest.raises(SubmititConfigError, match=match):
        submitit_parameters(settings)
    assert issubclass(SubmititConfigError, ValueError)

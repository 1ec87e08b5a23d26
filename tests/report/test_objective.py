"""``--objective`` suggestions name only what --objective accepts (issue 23, item 15)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mlflow_sweep_plugin.errors import UsageError
from mlflow_sweep_plugin.report.build import ReportOptions, build_report


def table() -> pd.DataFrame:
    """A record field beside its copy as a run metric (as flatten_artifacts logs it), and a
    param whose name is close to the objective asked for."""
    rows = []
    for i, (opt, seed, ecr) in enumerate([("a", 0, 0.5), ("a", 1, 0.6), ("b", 0, 0.3), ("b", 1, 0.2)]):
        rows.append({"run_id": f"r{i}", "status": "FINISHED", "opt": opt, "seed": seed, "layer": 0,
                     "energy_contrast_ratio": ecr, "metrics.layer_0.energy_contrast_ratio": ecr,
                     "energy_contrast_rate": "high"})
    return pd.DataFrame(rows)


def suggestions(message: str) -> list:
    found = re.search(r"did you mean (.*)\?$", message)
    return found.group(1).split(", ") if found else []


@pytest.mark.parametrize("asked", ["layer_0.energy_contrast_ratio", "energy_contrast_rati"])
def test_every_suggestion_is_accepted(tmp_path, asked):
    with pytest.raises(UsageError) as caught:
        build_report(table(), str(tmp_path / "no"), ReportOptions(objective=asked, max_plots=0))
    named = suggestions(str(caught.value))
    assert named and "energy_contrast_rate" not in named, str(caught.value)  # a param: refused
    assert not (tmp_path / "no").exists()  # nothing written
    for name in named:
        report = build_report(table(), str(tmp_path / name), ReportOptions(objective=name, max_plots=0))
        assert report.best.objective == name

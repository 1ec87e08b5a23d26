"""The in-process export fixture (``sweep_exporter``) and the bad-input contract check
(``check_bad_artifacts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@pytest.fixture
def sweep_exporter(sweep_store):
    """``sweep_exporter(experiment_names=("sweep",), plugins=(), **options)`` ->
    ExportResult, exported in-process from the test's store."""
    from ..export import export_sweep  # loads MLflow and pandas: only when a test uses it
    from ..plugins import SweepPluginManager  # loads pluggy and the plugins: only when a test uses it

    def export(experiment_names=("sweep",), plugins=(), load_entry_points=True, **options):
        if isinstance(experiment_names, str):
            experiment_names = (experiment_names,)
        pm = SweepPluginManager(extra_plugins=plugins, load_entry_points=load_entry_points)
        options.setdefault("tracking_uri", sweep_store.tracking_uri)
        options.setdefault("write", "output" in options)
        return export_sweep(experiment_names=experiment_names, plugin_manager=pm, **options)

    return export


@dataclass
class BadInputReport:
    """What :func:`check_bad_artifacts` saw: the export, each variant's run id and warnings."""

    result: object
    run_ids: dict
    warnings: dict

    def reason(self, name: str) -> str:
        """The messages of variant ``name``'s warnings, joined (for ``in`` checks)."""
        return "\n".join(w.message for w in self.warnings[name])

    def rows(self, name: str):
        """The table rows of variant ``name`` (or ``"good"``)."""
        df = self.result.df
        return df[df["run_id"] == self.run_ids[name]]


@pytest.fixture
def check_bad_artifacts(make_sweep, sweep_exporter):
    """``check_bad_artifacts(variants, good, paths=None, **export_options)`` -> BadInputReport.

    The contract every parser owes its users, checked in one call: ``variants`` maps a
    name to one run's ``artifacts`` (as for ``make_sweep``) with something broken;
    ``good`` is a run's artifacts with nothing broken. One run per variant plus a run
    named ``"good"`` is logged and exported, and this asserts that each broken run got
    at least one warning naming its run id and the artifact path (exactly the paths in
    ``paths[name]`` when given, a str or a set), that the good run got none, and that
    every run still has its row(s) in the table. Further checks go on the returned report.
    """

    def check(variants: dict, good: dict, paths: dict | None = None, **export_options) -> BadInputReport:
        names = [*variants, "good"]
        if len(set(names)) != len(names):
            raise ValueError('a variant may not be called "good"')
        sweep = make_sweep([{"run_name": name, "artifacts": arts}
                            for name, arts in [*variants.items(), ("good", good)]])
        ids = dict(zip(names, sweep.run_ids))
        result = sweep_exporter(**export_options)
        by_id: dict = {}
        for w in result.warnings:
            by_id.setdefault(w.run_id, []).append(w)
        assert not by_id.get(ids["good"]), [str(w) for w in by_id[ids["good"]]]
        warnings = {name: by_id.get(ids[name], []) for name in variants}
        for name, got in warnings.items():
            assert got, f"variant {name!r} gave no warning"
            for w in got:
                assert ids[name] in str(w) and w.path and w.path in str(w), (name, str(w))
            if paths and name in paths:
                want = {paths[name]} if isinstance(paths[name], str) else set(paths[name])
                assert {w.path for w in got} == want, (name, [str(w) for w in got])
        missing = set(ids.values()) - set(result.df["run_id"])
        assert not missing, f"runs lost from the table: {sorted(missing)}"
        return BadInputReport(result, ids, warnings)

    return check

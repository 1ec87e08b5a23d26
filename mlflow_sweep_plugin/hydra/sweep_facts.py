"""What a Hydra sweep is called and how it was swept, read the same way live (the
callback, from Hydra's config) and afterwards (``import-hydra``, from the directory).

A sweep directory holds up to three records of it, each of which may be missing:

1. ``mlflow_sweep.yaml``, written by the callback (:mod:`.record`): the sweep name and
   experiment it logged under, the sweeper and the multirun's overrides;
2. ``multirun.yaml``, written by Hydra's basic sweeper (not by Optuna's): ``hydra.job.name``,
   ``hydra.runtime.choices``, ``hydra.overrides.task``;
3. each job's ``.hydra/hydra.yaml``: ``hydra.job.name``, the sweeper (a job's overrides
   there are its own, not the multirun's).

Each fact is taken from the first record that has it, in that order, so that a sweep
the callback logged is imported under the name, sweeper and overrides it logged, and a
sweep run without it under its job's name rather than its directory's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .jobs import plugin_choice, read_multirun_yaml, read_yaml


@dataclass
class SweepFacts:
    """One sweep's name and how it was swept; None: not recorded."""

    job_name: str | None = None  # hydra.job.name
    sweeper: str | None = None  # the hydra/sweeper choice (basic, optuna, ...), else its class
    overrides: list | None = None  # the multirun's task overrides, as written
    sweep_name: str | None = None  # the callback's sweep_name, when it differs from the job name
    experiment_name: str | None = None  # the experiment the callback logged into

    def merged(self, other: "SweepFacts") -> "SweepFacts":
        """These facts, the missing ones taken from ``other``."""
        return SweepFacts(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                             else getattr(other, f.name) for f in fields(self)})

    @property
    def complete(self) -> bool:
        return self.job_name is not None and self.sweeper is not None

    def record(self) -> dict:
        """What the callback writes into the sweep record (:func:`from_record` reads it)."""
        return {"job_name": self.job_name, "sweeper": self.sweeper, "overrides": self.overrides}


def _text(value) -> str | None:
    return str(value) if isinstance(value, (str, int, float)) and str(value) else None


def _strings(value) -> list | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def from_hydra(hydra: dict, *, with_overrides: bool = True) -> SweepFacts:
    """The facts a ``hydra`` config node tells (the live one, ``multirun.yaml``'s, a
    job's ``hydra.yaml``; ``with_overrides``: its ``overrides.task`` are the multirun's)."""
    if not isinstance(hydra, dict):
        return SweepFacts()
    job = hydra.get("job") or {}
    overrides = (hydra.get("overrides") or {}).get("task") if with_overrides else None
    return SweepFacts(job_name=_text(job.get("name")) if isinstance(job, dict) else None,
                      sweeper=plugin_choice(hydra, "sweeper"), overrides=_strings(overrides))


def from_record(record: dict | None) -> SweepFacts:
    """The facts in the callback's sweep record (:func:`~.record.read_record`)."""
    if not record:
        return SweepFacts()
    return SweepFacts(job_name=_text(record.get("job_name")), sweeper=_text(record.get("sweeper")),
                      overrides=_strings(record.get("overrides")),
                      sweep_name=_text(record.get("sweep_name")),
                      experiment_name=_text(record.get("experiment_name")))


def read_sweep_facts(sweep_dir: str, record: dict | None, job_paths, problems: list) -> SweepFacts:
    """The facts of the sweep in ``sweep_dir`` from its records (see the module's text):
    ``record`` (the sweep record, read by the caller), ``multirun.yaml``, then the jobs'
    ``.hydra/hydra.yaml`` in ``job_paths``, read only until a job tells what is missing."""
    facts = from_record(record)
    if os.path.isdir(sweep_dir):
        facts = facts.merged(from_hydra(read_multirun_yaml(sweep_dir, problems).get("hydra") or {}))
    for path in job_paths:
        if facts.complete:
            break
        data = read_yaml(os.path.join(path, ".hydra", "hydra.yaml"), [], ".hydra/hydra.yaml", sweep_dir)
        if isinstance(data, dict):
            facts = facts.merged(from_hydra(data.get("hydra") or {}, with_overrides=False))
    return facts

"""What a report says of a raced or confirmed sweep (docs/reference/report-files.md,
"Raced and confirmed sweeps"): the parent's ``mlflow_sweep/race.json`` as one line per
candidate, and which runs decide the best.

- **The sweep**: when the table's runs are the children of one sweep (one
  ``mlflow_sweep.sweep_id``, one ``mlflow.parentRunId``), :func:`read_sweep` reads that
  parent's tags and its ``race.json`` (one ``get_run`` and one small download).
- **decided_by** (:func:`decision`): ``confirm`` when runs of a confirmation stage
  (``mlflow_sweep.stage = confirm``) are in the table -- the best set is then computed on
  those runs only, the search's runs stay in the table marked ``search``; ``race`` when
  the runs are a race's; ``search`` for a search strategy's runs (``mlflow_sweep.stage =
  search``, or a parent whose ``mlflow_sweep.strategy`` is not ``grid``); ``report``
  otherwise (a grid, runs of no sweep). When the race (or the confirmation's race) has
  finished, the best set is computed on the runs of the candidates it left
  (``race.json``'s ``left_trials``, the children's ``mlflow_sweep.trial``): the report's
  best is then the race's winner, and a candidate the race eliminated is in its Race
  section with the round it left in, not in the best set (with fewer seeds, its mean
  could otherwise look better than the winner's).
- **The Race section** (:func:`race_lines`): each candidate of ``race.json`` with the round
  it was eliminated in and its difference from the best then (mean difference, 95 % CI,
  adjusted p-value: :func:`~.bestset.best_set`'s, as the race computed them), or
  ``survived``.
"""

from __future__ import annotations

import json
import os
import tempfile

from ..tags import RACE_ARTIFACT, TAG_PARENT, TAG_STAGE, TAG_STRATEGY, TAG_SWEEP_ID, TAG_TRIAL
from ..warning_types import SweepWarning, warn

STAGE_COLUMN = f"tags.{TAG_STAGE}"
PARENT_COLUMN = f"tags.{TAG_PARENT}"
SWEEP_COLUMN = f"tags.{TAG_SWEEP_ID}"
TRIAL_COLUMN = f"tags.{TAG_TRIAL}"
#: the tags the report's export adds as columns for this module
TAGS = (TAG_STAGE, TAG_PARENT, TAG_SWEEP_ID, TAG_TRIAL)
#: the largest race.json read (a race of thousands of candidates is far smaller)
MAX_BYTES = 4 * 1024 * 1024
DECIDERS = ("confirm", "race", "search", "report")


def _values(df, column) -> set:
    if column not in df.columns:
        return set()
    return {v for v in df[column] if isinstance(v, str) and v}


def sweep_parent(df) -> str | None:
    """The parent run id of the table's runs when they are the children of one sweep."""
    if not len(df) or len(_values(df, SWEEP_COLUMN)) != 1:
        return None
    parents = _values(df, PARENT_COLUMN)
    return parents.pop() if len(parents) == 1 else None


def read_sweep(tracking_uri: str, parent_run_id: str) -> dict | None:
    """``{"parent_run_id", "tags", "race"}`` of a sweep's parent (``race`` None without a
    ``race.json``); None, with one warning, when the parent cannot be read."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    try:
        tags = dict(client.get_run(parent_run_id).data.tags)
    except Exception as exc:  # noqa: BLE001 - the report goes on without the sweep's parent
        warn(SweepWarning(f"run {parent_run_id}: the sweep's parent could not be read "
                          f"({type(exc).__name__}: {exc}); no Race section"))
        return None
    return {"parent_run_id": parent_run_id, "tags": tags, "race": _read_race(client, parent_run_id)}


def _read_race(client, run_id: str) -> dict | None:
    directory, name = os.path.split(RACE_ARTIFACT)
    try:
        listed = {os.path.basename(f.path): f for f in client.list_artifacts(run_id, directory)}
    except Exception:  # noqa: BLE001 - no artifacts there: no race
        return None
    info = listed.get(name)
    if info is None:
        return None
    where = f"run {run_id}: {RACE_ARTIFACT}"
    if info.file_size is not None and info.file_size > MAX_BYTES:
        warn(SweepWarning(f"{where} is {info.file_size} bytes (more than {MAX_BYTES}): not read"))
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="mlflow-sweep-race-") as tmp:
            path = client.download_artifacts(run_id, RACE_ARTIFACT, tmp)
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"more than {MAX_BYTES} bytes")
        race = json.loads(data.decode("utf-8"))
        check_race(race)
    except Exception as exc:  # noqa: BLE001 - a bad race.json costs only the Race section
        warn(SweepWarning(f"{where} could not be read ({type(exc).__name__}: {exc}); no Race section"))
        return None
    return race


def check_race(race) -> None:
    """A ValueError naming what is wrong when ``race`` is not race.json's shape."""
    if not isinstance(race, dict) or not isinstance(race.get("rounds"), list):
        raise ValueError('expected an object with "rounds": [...]')
    for i, r in enumerate(race["rounds"]):
        if not isinstance(r, dict) or not isinstance(r.get("eliminated", []), list):
            raise ValueError(f"round {i} is not an object with a list of eliminated candidates")
        for e in r.get("eliminated", []):
            if not isinstance(e, dict) or not isinstance(e.get("config"), dict):
                raise ValueError(f"round {i}: an eliminated candidate without its configuration")
    if not isinstance(race.get("left", []), list) or not all(isinstance(c, dict) for c in race.get("left", [])):
        raise ValueError('"left" must be a list of configurations')


def config_label(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items()) or "(no swept param)"


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def race_lines(race: dict) -> list[dict]:
    """One line per candidate: ``candidate`` (its configuration), ``label``, ``outcome``
    (``eliminated`` / ``survived``), ``round`` (the one it left in, else None), ``diff``,
    ``ci_low``, ``ci_high``, ``p_adjusted`` (None when every run of it failed), ``winner``."""
    out = []
    for r in race.get("rounds", []):
        for e in r.get("eliminated", []):
            ci = e.get("ci") if isinstance(e.get("ci"), list) and len(e.get("ci")) == 2 else [None, None]
            out.append({"candidate": e["config"], "label": config_label(e["config"]), "outcome": "eliminated",
                        "round": r.get("round"), "diff": _number(e.get("diff")), "ci_low": _number(ci[0]),
                        "ci_high": _number(ci[1]), "p_adjusted": _number(e.get("p_adjusted")), "winner": False})
    winner = race.get("winner")
    for config in race.get("left", []):
        out.append({"candidate": config, "label": config_label(config), "outcome": "survived", "round": None,
                    "diff": None, "ci_low": None, "ci_high": None, "p_adjusted": None,
                    "winner": winner == config})
    return out


def race_text(line: dict, fmt) -> str:
    """The line's outcome as the report prints it (``fmt``: a number's text)."""
    if line["outcome"] == "survived":
        return "survived (the winner)" if line["winner"] else "survived"
    text = f"left in round {line['round']}"
    if line["diff"] is None:
        return text + " (every run failed)"
    text += f": difference from the best {fmt(line['diff'])}"
    if line["ci_low"] is not None and line["ci_high"] is not None:
        text += f" [{fmt(line['ci_low'])}, {fmt(line['ci_high'])}]"
    if line["p_adjusted"] is not None:
        text += f", adjusted p = {line['p_adjusted']:.3g}"
    return text


def race_section(race: dict | None) -> dict | None:
    """The race as report.json and the pages show it (None without a race)."""
    if race is None:
        return None
    rounds = [{"round": r.get("round"), "seeds": list(r.get("seeds") or []),
               "survivors": len(r.get("survivors") or []), "eliminated": len(r.get("eliminated") or [])}
              for r in race.get("rounds", [])]
    return {"stage": race.get("stage"), "alpha": race.get("alpha"), "initial": race.get("initial"),
            "step": race.get("step"), "winner": race.get("winner"), "rounds": rounds,
            "candidates": race_lines(race)}


def decision(df, sweep: dict | None) -> tuple[str, set | None]:
    """``(decided_by, run ids)``: the stage whose runs decide the best, and those runs
    (None: every run of the table) -- see the module docstring."""
    stages = df[STAGE_COLUMN] if STAGE_COLUMN in df.columns and "run_id" in df.columns else None
    if stages is not None:
        present = set(stages.dropna())
        for stage in ("confirm", "race"):
            if stage in present:
                return stage, _deciding_runs(df, stage, (sweep or {}).get("race"))
        if "search" in present:
            return "search", None
    strategy = ((sweep or {}).get("tags") or {}).get(TAG_STRATEGY)
    if strategy and strategy != "grid":
        return "search", None
    return "report", None


def _deciding_runs(df, stage: str, race: dict | None) -> set | None:
    """The runs of ``stage`` whose candidate a finished race left (every run of a
    confirmation; None, every run, for a race) when race.json does not say which are left."""
    runs = {r for r, s in zip(df["run_id"], df[STAGE_COLUMN]) if s == stage}
    race = race or {}
    left = race.get("left_trials")
    if race.get("stage") != stage or not race.get("finished") or not isinstance(left, list) \
            or TRIAL_COLUMN not in df.columns:
        return runs if stage == "confirm" else None
    trials = {str(t) for t in left}
    return {r for r, t in zip(df["run_id"], df[TRIAL_COLUMN]) if r in runs and t in trials}


def stage_of(df) -> dict:
    """``{run_id: stage}`` of the runs that carry ``mlflow_sweep.stage``."""
    if STAGE_COLUMN not in df.columns or "run_id" not in df.columns:
        return {}
    return {r: s for r, s in zip(df["run_id"], df[STAGE_COLUMN]) if isinstance(s, str) and s}

"""Racing over seeds: spend seeds on the candidates that can still win (docs/how-to/racing.md,
"Racing" and "Confirmation").

Every candidate first runs on the first ``initial`` seed values (round 0). When every
run of a round has ended, the candidates are compared with the current best by the
*best-set rule* (``decide``: :func:`~mlflow_sweep_plugin.report.bestset.best_set`, the report's own
pure function of the values per (configuration, seed), so that the race and the report
never disagree); those *shown worse* (tested, not in the best set) are eliminated, a
candidate that cannot be tested yet (fewer than 2 values) stays; the survivors run on the next ``step`` seed values (round 1, ...).
The race ends when one candidate is left, the seed values run out, or ``max_runs`` runs
were spent. Runs of a round start as soon as slots are free.

:class:`Race` has the launcher interface of :class:`~.engine.Engine` (``propose``,
``record``, ``done``, ``best_config`` ...), so the backend's loop runs it unchanged; its
state is derived from the runs alone (``records``: resumable from the store).
:class:`Confirmed` runs a search engine, then races its top configurations on fresh seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..report.bestset import best_set
from . import space as _space
from .engine import Proposal
from .objective import run_value
from .seeds import seed_text
from .study import ENDED

STAGE_RACE, STAGE_CONFIRM, STAGE_SEARCH = "race", "confirm", "search"


def _eliminated(cand, row) -> dict:
    """One eliminated candidate in ``race.json``: its difference from the best, CI and
    adjusted p-value (None when every run of it failed)."""
    out = {"config": cand.config, "diff": None, "ci": None, "p_adjusted": None, "test": None}
    if row is not None:
        out.update(diff=row.diff, ci=[row.ci_low, row.ci_high], p_adjusted=row.p_adjusted, test=row.test)
    return out


@dataclass
class _Cand:
    key: str
    config: dict
    trial: int
    runs: dict = field(default_factory=dict)     # seed text -> [index, status, run_id, value, redo]
    left_in: int | None = None                   # the round it was eliminated in


class Race:
    """A race of ``candidates`` (``[(trial, configuration)]``) over ``seeds``."""

    def __init__(self, spec, race, candidates, seeds, records=(), *, decide=best_set,
                 stage=STAGE_RACE, next_index=0, seed_param=None):
        self.spec, self.race, self.decide, self.stage = spec, race, decide, stage
        self.seed_param = seed_param or spec.seeds.param
        self.seeds = [s for s in seeds]
        self.cands = {}
        for trial, config in candidates:
            key = _space.config_key(config)
            self.cands[key] = _Cand(key, dict(config), trial)
        self.round = 0
        self.rounds: list[dict] = []
        self.finished = False
        self.stop_reason: str | None = None
        self.n_pruned = 0
        self._next_index = next_index
        self._best_seen = None
        for record in records:
            self._rebuild(record)
        self._advance()

    # -- the runs ----------------------------------------------------------------------
    def _rebuild(self, record) -> None:
        config = _space.parse_config(self.spec.space, record.config_texts)
        cand = self.cands.get(_space.config_key(config)) if config is not None else None
        if cand is None or record.seed not in [seed_text(s) for s in self.seeds]:
            return
        old = cand.runs.get(record.seed)
        if old is not None and old[1] == "FINISHED":
            return
        index = record.index if record.index is not None else self._take_index()
        self._next_index = max(self._next_index, index + 1)
        if record.status == "FINISHED":
            cand.runs[record.seed] = [index, "FINISHED", record.run_id, self._value(record.points), None]
        elif record.status in ENDED and record.status != "KILLED":
            cand.runs[record.seed] = [index, record.status, record.run_id, None, None]
        else:  # killed, or left running by a controller that is gone: runs again
            cand.runs[record.seed] = [index, None, None, None, record.run_id]

    def _take_index(self) -> int:
        self._next_index += 1
        return self._next_index - 1

    def _value(self, points):
        return run_value(points, self.spec.objective.agg)

    def _alive(self) -> list:
        return [c for c in self.cands.values() if c.left_in is None]

    def _round_seeds(self, r: int) -> list:
        n = self.race.initial + r * self.race.step
        return [seed_text(s) for s in self.seeds[:n]]

    def _n_runs(self) -> int:
        return sum(1 for c in self.cands.values() for r in c.runs.values() if r[1] is not None)

    # -- rounds ------------------------------------------------------------------------
    def _advance(self) -> None:
        while not self.finished:
            seeds = self._round_seeds(self.round)
            alive = self._alive()
            if any(c.runs.get(s, [None, None])[1] not in ENDED for c in alive for s in seeds):
                return  # the round is still running (or not started)
            values = {c.key: {s: c.runs[s][3] for s in seeds if c.runs[s][3] is not None} for c in alive}
            rows = {row.config: row for row in self.decide(values, self.spec.objective.mode, self.race.alpha)}
            out = [c for c in alive if c.key in rows and rows[c.key].test is not None
                   and not rows[c.key].in_set]
            out += [c for c in alive if not values[c.key]]  # every run failed: cannot win
            for c in out:
                c.left_in = self.round
            self.rounds.append({
                "round": self.round, "seeds": list(seeds),
                "survivors": [c.config for c in alive if c.left_in is None],
                "eliminated": [_eliminated(c, rows.get(c.key)) for c in out]})
            left = self._alive()
            if len(left) <= 1:
                self._end(f"the {self.stage} ended: {len(left)} candidate left after round {self.round}")
            elif len(seeds) >= len(self.seeds):
                self._end(f"the {self.stage} ended: the seed values ran out with {len(left)} candidates left")
            else:
                self.round += 1

    def _end(self, reason: str) -> None:
        self.finished, self.stop_reason = True, reason

    # -- the launcher interface ------------------------------------------------------------
    def propose(self) -> Proposal | None:
        self._advance()
        if self.finished:
            return None
        for cand in self._alive():
            for seed in self._round_seeds(self.round):
                run = cand.runs.get(seed)
                if run is not None and run[1] is not None:
                    continue
                if self.spec.max_runs is not None and self._n_runs() >= self.spec.max_runs:
                    self._end(f"max_runs ({self.spec.max_runs}) reached")
                    return None
                index = run[0] if run is not None else self._take_index()
                supersedes = run[4] if run is not None else None
                cand.runs[seed] = [index, "RUNNING", None, None, None]
                value = self.seeds[[seed_text(s) for s in self.seeds].index(seed)]
                params = {k: _space.value_text(v) for k, v in cand.config.items()}
                params[self.seed_param] = seed
                return Proposal(index=index, trial=cand.trial, seed=value, config=dict(cand.config),
                                params=params, supersedes=supersedes,
                                tags={"round": str(self.round), "stage": self.stage})
        return None

    def _find(self, index: int):
        for cand in self.cands.values():
            for seed, run in cand.runs.items():
                if run[0] == index:
                    return cand, run
        raise KeyError(index)

    def observe(self, index, points) -> None:
        pass  # a race stops candidates itself, between rounds

    def running_trials(self) -> list:
        return []

    def running_indexes(self, trial) -> list:
        return []

    def should_prune(self, trial):
        return None

    def record(self, index, status, points=(), *, run_id=None, pruned=None) -> bool:
        _, run = self._find(index)
        run[1], run[2] = status, run_id or run[2]
        run[3] = self._value(points) if status == "FINISHED" else None
        self._advance()
        best = self.best_config()
        improved = best is not None and best != self._best_seen
        self._best_seen = best
        return improved

    def done(self) -> bool:
        running = any(r[1] == "RUNNING" for c in self.cands.values() for r in c.runs.values())
        return not running and self.finished

    def best_config(self):
        """``(mean, configuration, trial)`` of the leading candidate among those left."""
        best = None
        for cand in self._alive():
            values = [r[3] for r in cand.runs.values() if r[3] is not None]
            if not values:
                continue
            mean = math.fsum(values) / len(values)
            if best is None or (mean < best[0] if self.spec.objective.mode == "min" else mean > best[0]):
                best = (mean, dict(cand.config), cand.trial)
        return best

    def counts(self) -> dict:
        return {"configurations": len(self.cands), "complete": len(self.rounds), "pruned": 0,
                "failed": 0, "runs": self._n_runs(), "pruned_runs": 0}

    def to_json(self) -> dict:
        """``mlflow_sweep/race.json``: per round the seeds used, the survivors and each
        eliminated candidate with its difference from the best, CI and adjusted p-value;
        ``finished``, the candidates ``left`` and their ``left_trials`` (the children's
        ``mlflow_sweep.trial``: the report decides its best on their runs)."""
        alive = self._alive()
        left = [c.config for c in alive]
        return {"stage": self.stage, "initial": self.race.initial, "step": self.race.step,
                "alpha": self.race.alpha, "rounds": self.rounds, "finished": self.finished,
                "winner": left[0] if self.finished and len(left) == 1 else None, "left": left,
                "left_trials": [c.trial for c in alive]}


class Confirmed:
    """A search (``engine``), then a race of its ``confirm.top`` configurations on the
    ``confirm.seeds`` values (built when the search is done; its runs are the records
    whose stage is ``confirm``). The launcher interface of :class:`~.engine.Engine`."""

    def __init__(self, engine, spec, records=(), *, decide=best_set):
        self.engine, self.spec, self.decide = engine, spec, decide
        self.records = [r for r in records if r.stage == STAGE_CONFIRM]
        self.race: Race | None = None

    def _stage(self):
        if self.race is None and self.engine.done():
            sign = 1.0 if self.spec.objective.mode == "min" else -1.0
            done = sorted((c for c in self.engine.configs.values() if c.state == "complete"),
                          key=lambda c: sign * c.value)
            top = [(c.trial, c.values) for c in done[:self.spec.confirm.top]]
            seeds = self.spec.confirm.seeds
            n = min(3, len(seeds))
            from .race_spec import RaceSpec

            self.race = Race(self.spec, RaceSpec(n, n), top, seeds, self.records, decide=self.decide,
                             stage=STAGE_CONFIRM, next_index=max(self.engine.by_index, default=-1) + 1,
                             seed_param=self.spec.seeds.param if self.spec.seeds else "seed")
        return self.race or self.engine

    @property
    def stop_reason(self):
        return self._stage().stop_reason

    @property
    def n_pruned(self):
        return self.engine.n_pruned

    @property
    def study(self):
        return self.engine.study

    def propose(self):
        proposal = self._stage().propose()
        if proposal is None and self.race is None and self.engine.done():
            proposal = self._stage().propose()  # the search just ended: the confirmation starts
        elif proposal is not None and self.race is None:
            proposal.tags = dict(proposal.tags, stage=STAGE_SEARCH)
        return proposal

    def observe(self, index, points):
        if self.race is None:
            self.engine.observe(index, points)

    def running_trials(self):
        return self.engine.running_trials() if self.race is None else []

    def running_indexes(self, trial):
        return self.engine.running_indexes(trial)

    def should_prune(self, trial):
        return self.engine.should_prune(trial) if self.race is None else None

    def record(self, index, status, points=(), *, run_id=None, pruned=None) -> bool:
        if self.race is not None:
            with_race = True
            try:
                self.race._find(index)  # noqa: SLF001 - a run of the confirmation stage
            except KeyError:
                with_race = False
            if with_race:
                return self.race.record(index, status, points, run_id=run_id, pruned=pruned)
        return self.engine.record(index, status, points, run_id=run_id, pruned=pruned)

    def done(self) -> bool:
        return self._stage().done() if self.engine.done() else False

    def best_config(self):
        return self.race.best_config() if self.race is not None else self.engine.best_config()

    def counts(self) -> dict:
        return self.engine.counts()

    def to_json(self) -> dict | None:
        return self.race.to_json() if self.race is not None else None


def make_engine(spec, records=(), *, decide=best_set):
    """The engine a spec asks for: a :class:`Race` of the grid's points (``race``), a search
    followed by a confirmation race (``confirm``), else an :class:`~.engine.Engine`."""
    from .engine import Engine
    from .study import grid_configs

    if spec.race is not None:
        candidates = list(enumerate(grid_configs(spec.space)))
        return Race(spec, spec.race, candidates, spec.seeds.values, records, decide=decide)
    if spec.confirm is not None:
        search = Engine(spec, [r for r in records if r.stage != STAGE_CONFIRM])
        return Confirmed(search, spec, records, decide=decide)
    return Engine(spec, records)

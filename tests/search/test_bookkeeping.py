"""mlflow_sweep_plugin.search.bookkeeping: the engine's tags on a child, the same for the
backend's runner and the Hydra sweeper."""

from __future__ import annotations

from mlflow_sweep_plugin.search.bookkeeping import child_tags
from mlflow_sweep_plugin.search.engine import Proposal
from mlflow_sweep_plugin.tags import TAG_RACE_ROUND, TAG_SEED, TAG_STAGE, TAG_TRIAL


def _proposal(**kwargs):
    return Proposal(index=0, trial=kwargs.pop("trial", 2), seed=kwargs.pop("seed", None), config={}, params={},
                    **kwargs)


def test_trial_always_seed_when_there_is_one():
    assert child_tags(_proposal()) == {TAG_TRIAL: "2"}
    assert child_tags(_proposal(seed=0)) == {TAG_TRIAL: "2", TAG_SEED: "0"}


def test_a_race_adds_its_round_and_stage_and_nothing_else():
    tags = child_tags(_proposal(seed=4, tags={"round": 1, "stage": "confirm", "other": "x"}))
    assert tags == {TAG_TRIAL: "2", TAG_SEED: "4", TAG_RACE_ROUND: "1", TAG_STAGE: "confirm"}

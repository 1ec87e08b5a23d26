"""The run matrix: every run considered, what became of it, and the configuration x seed
picture (``runs.csv``, the report's "Run matrix" section, ``plots/run_matrix.png``).

A cell (configuration, seed) is *done* when a run of it contributes, *failed* when its
only runs FAILED or were KILLED, *superseded* when its runs were superseded retries or
duplicates of another run, and *missing* when no run of the selection has that pair (the
seeds are those any run has; the configurations those any run has).
"""

from __future__ import annotations

import math

from .columns import value_key

#: the largest picture drawn (configurations x seeds)
MAX_CONFIGS = 60
MAX_SEEDS = 30
STATES = ("done", "failed", "superseded", "missing")
_COLORS = {"done": "#2da44e", "failed": "#cf222e", "superseded": "#bf8700", "missing": "#d0d7de"}


def runs_table(summary, best=None):
    """``summary.runs`` with runs whose every unit lacks the objective marked unused
    (reason ``objective missing``)."""
    runs = summary.runs.copy()
    if best is None or not len(runs):
        return runs
    obs = summary.observations
    has = set(obs.loc[obs[best.objective].notna(), "run_id"]) if "run_id" in obs.columns else set()
    lacking = runs["used"] & ~runs["run_id"].isin(has)
    runs.loc[lacking, "used"] = False
    runs.loc[lacking, "reason"] = f"objective missing ({best.objective})"
    return runs


def _state(reason: str, used: bool) -> str:
    if used:
        return "done"
    if reason.startswith(("FAILED", "KILLED")):
        return "failed"
    if reason.startswith(("superseded", "duplicate")):
        return "superseded"
    return ""


def cells(runs):
    """``(configs, seeds, {(config, seed): state}, missing pairs)`` of the run matrix
    (sweep parents and runs without a seed are not in it). A pair is *missing* from the
    analysis when no run of it contributes: ``(config, seed, state)`` with state
    ``failed``, ``superseded`` or ``missing`` (no run at all)."""

    rank = {"done": 0, "failed": 1, "superseded": 2}
    out: dict = {}
    for config, seed, used, reason in zip(runs["configuration"], runs["seed"], runs["used"], runs["reason"]):
        if seed is None or (isinstance(seed, float) and math.isnan(seed)):
            continue
        state = _state(str(reason), bool(used))
        if not state and str(reason).startswith("objective"):
            state = "failed"
        if not state:
            continue
        key = (config, seed)
        if key not in out or rank[state] < rank[out[key]]:
            out[key] = state
    configs = list(dict.fromkeys(c for c, _ in out))
    seeds = sorted({s for _, s in out}, key=value_key)
    missing = [(c, s, out.get((c, s), "missing")) for c in configs for s in seeds if out.get((c, s)) != "done"]
    return configs, seeds, out, missing


def draw(runs, directory: str):
    """``plots/run_matrix.png`` (and .svg) when there is a seed axis and it fits; returns
    ``(Plot or None, note or None)``."""
    import numpy as np

    from .plots import clip, save
    from .select import PlotSpec

    configs, seeds, state, missing = cells(runs)
    if not configs or len(seeds) < 2:
        return None, None
    if len(configs) > MAX_CONFIGS or len(seeds) > MAX_SEEDS:
        return None, (f"run matrix not drawn: {len(configs)} configurations x {len(seeds)} seeds "
                      f"(at most {MAX_CONFIGS} x {MAX_SEEDS}); runs.csv lists every run")
    from matplotlib.colors import ListedColormap

    from .plots import figure

    codes = {s: i for i, s in enumerate(STATES)}
    grid = np.full((len(configs), len(seeds)), codes["missing"])
    for (c, s), st in state.items():
        grid[configs.index(c), seeds.index(s)] = codes[st]
    fig = figure(max(4.0, 0.28 * len(seeds) + 3.5), max(2.5, 0.25 * len(configs) + 1.4))
    ax = fig.subplots()
    ax.imshow(grid, cmap=ListedColormap([_COLORS[s] for s in STATES]), vmin=0, vmax=len(STATES) - 1,
              aspect="auto")
    ax.set_xticks(range(len(seeds)))
    ax.set_xticklabels([clip(s, 12) for s in seeds], fontsize="x-small")
    ax.set_yticks(range(len(configs)))
    ax.set_yticklabels([clip(c) for c in configs], fontsize="x-small")
    ax.set_xlabel("seed")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=_COLORS[s], label=s) for s in STATES], fontsize="x-small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Run matrix: configuration × seed", fontsize="medium")
    counts = {s: sum(1 for v in state.values() if v == s) for s in STATES[:-1]}
    absent = sum(1 for m in missing if m[2] == "missing")
    caption = (f"(configuration, seed) pairs: {counts['done']} done, {counts['failed']} failed, "
               f"{counts['superseded']} superseded only, {absent} with no run")
    plot = save(fig, directory, "run_matrix", PlotSpec("matrix", "", (), math.nan),
                "Run matrix: configuration × seed", caption, set())
    plot.n = len(configs) * len(seeds)
    return plot, None

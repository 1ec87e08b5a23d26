"""``report.json``: what a report holds, for scripts and tests (``docs/explanation/best-set.md``
documents every field)."""

from __future__ import annotations

from .best import plain
from .columns import bare_name

VERSION = 1


def _roles(summary) -> dict:
    r = summary.roles
    return {"by": list(summary.by), "over": summary.over, "params": list(r.params),
            "captures": list(r.captures), "keys": list(r.keys), "seed": r.seed,
            "metrics": list(summary.metrics), "descriptors": list(r.descriptors),
            "aliases": {k: list(v) for k, v in summary.aliases.items()}}


def _plot(p) -> dict:
    spec = p.spec
    return {"file": p.png, "svg": p.svg, "kind": spec.kind, "metric": spec.metric or None,
            "factors": list(spec.factors), "pooled": list(getattr(p, "pooled", [])),
            "n": int(getattr(p, "n", 0)), "title": p.title, "caption": p.caption,
            **{k: plain(v) if not isinstance(v, (list, dict)) else v for k, v in getattr(p, "extra", {}).items()}}


def manifest(summary, best, runs, plots, files, warnings, missing, race=None) -> dict:
    """The ``report.json`` document (``race``: :func:`.race.race_section`)."""
    left = runs[~runs["used"]] if len(runs) else runs
    reasons: dict = {}
    for reason in left["reason"] if len(left) else []:
        key = str(reason).split(":")[0].split(" (")[0]
        key = "duplicate" if key.startswith("duplicate") else "superseded" if key.startswith("superseded") else key
        reasons[key] = reasons.get(key, 0) + 1
    return {
        "version": VERSION,
        "runs": {"considered": int(len(runs)), "used": int(runs["used"].sum()) if len(runs) else 0,
                 "left_out": reasons,
                 "left_out_runs": [{"run_id": r, "reason": w} for r, w in zip(left["run_id"], left["reason"])]
                 if len(left) else []},
        "missing_pairs": [{"configuration": c, "seed": plain(s), "state": st} for c, s, st in missing],
        "groups": int(len(summary.groups)),
        "grouping": _roles(summary),
        "best": None if best is None else {
            "objective": best.objective, "mode": best.mode, "rule": "mcb-tukey", "alpha": best.alpha,
            "decided_by": best.decided_by, "decided_on_runs": best.decided_on,
            "best": None if best.best is None else {bare_name(k): v for k, v in best.best["group"].items()},
            "set": [{bare_name(k): v for k, v in c["group"].items()} for c in best.comparisons() if c["in_set"]],
        },
        "race": race,
        "plots": [_plot(p) for p in plots],
        "files": list(files),
        "warnings": list(warnings),
    }

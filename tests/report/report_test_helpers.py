"""Tables and sweeps the report's tests share (imported by module name: pytest.ini puts
tests/report on the path)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def table(rows, records=None):
    """An export-shaped table: run fields, params (text), ``metrics.*``, record columns.

    ``rows``: dicts with ``run``, ``status`` (default FINISHED), ``t`` (start minute),
    ``params`` and ``metrics``; ``records``: per row index, a list of record dicts."""
    out = []
    for i, r in enumerate(rows):
        base = {"run_id": r["run"], "run_name": r["run"],
                "start_time": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=r.get("t", i)),
                "end_time": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=r.get("t", i) + 1),
                "status": r.get("status", "FINISHED")}
        base.update({k: str(v) for k, v in sorted(r.get("params", {}).items())})
        base.update({f"metrics.{k}": float(v) for k, v in sorted(r.get("metrics", {}).items())})
        for rec in (records or {}).get(i, [{}]):
            out.append({**base, **rec})
    return pd.DataFrame(out)


def globals_heads(seeds=3, beta_effect=0.3):
    """Seed 002's 3 x 3 run matrix (latent space x globals_beta), with seeds."""
    rng = np.random.default_rng(1)
    rows = []
    for latent_i, latent in enumerate(["none", "linear", "vq"]):
        for beta in (0, 1, 10):
            for seed in range(seeds):
                loss = 1.0 + 0.2 * latent_i - beta_effect * math.log1p(beta) + rng.normal(0, 0.02)
                rows.append({"run": f"{latent}-{beta}-{seed}", "params": {
                    "phase1.latent_space": latent, "globals_beta": beta, "seed": seed, "epochs": 20},
                    "metrics": {"val_loss": loss, "rec_tokens": 0.5 + rng.normal(0, 0.01),
                                "rec_globals": 0.1 / (1 + beta) + 1 / 3}})
    return table(rows)


def last_line(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""

"""Plain helpers for the core tests (importable: pytest.ini puts tests/ on sys.path)."""

from __future__ import annotations

import copy
import pathlib


def summary_for(base: dict, layer: int, **changes) -> dict:
    doc = copy.deepcopy(base)
    doc["layer"] = layer
    doc.update(changes)
    return doc


def make_dist_info(site: pathlib.Path, dist: str, entry_points: dict, modules: dict) -> None:
    """Make an installed-looking distribution (dist-info + modules) under ``site``.

    Lets a test install a third-party plugin through a real ``mlflow_sweep`` entry point
    without pip.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{dist.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
    lines = ["[mlflow_sweep]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)

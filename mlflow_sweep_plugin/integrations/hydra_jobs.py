"""Read a Hydra multirun directory: jobs, overrides, composed configs, ``facts/metrics.csv``.

The layout is the contract in ``formats/hydra_multirun.md``: a sweep directory with an
optional ``multirun.yaml`` and one sub-directory per job holding ``.hydra/`` (Hydra's
``config.yaml``, ``overrides.yaml``, ``hydra.yaml``), the job's own ``cfg.yaml``,
``facts/metrics.csv`` (PyTorch Lightning CSVLogger layout), ``model.pt``, ``figures/``
and a log. Both the Hydra callback and ``mlflow-sweep import-hydra`` read jobs through
this module, so a job logged live and a job imported later give the same run.

Nothing here imports Hydra or MLflow; YAML is read with ``yaml.safe_load`` and model
files are never opened.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field

# files a job writes that are models or checkpoints: logged only with include_models
MODEL_PATTERNS = ("*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", "*.joblib", "*.onnx",
                  "*.safetensors", "*.h5", "*.hdf5", "*.keras", "*.bin", "checkpoints/**")
METRICS_CSV = "facts/metrics.csv"
_RESOLVER_CALL = re.compile(r"(?<!\\)\$\{(?=[A-Za-z_][\w.\-]*:)")


@dataclass
class MetricsTable:
    """``facts/metrics.csv`` as ``(key, value, step)`` points, and what was wrong with it."""

    points: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    complete: bool = False  # a well-formed file with at least one data row


@dataclass
class HydraJob:
    """One job directory of a multirun sweep."""

    path: str  # absolute
    key: str  # the job's number (hydra.job.num) as text, else its directory name
    num: int | None
    overrides: list = field(default_factory=list)
    config: dict | None = None
    config_source: str | None = None
    problems: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return ",".join(self.overrides) if self.overrides else f"job {self.key}"


def _read_yaml(path: str, problems: list, what: str):
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - bad input: say which file, go on
        problems.append(f"{what}: not valid YAML ({type(exc).__name__}: {str(exc)[:200]})")
        return None


def is_job_dir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, ".hydra")) or os.path.isfile(os.path.join(path, "cfg.yaml"))


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_jobs(sweep_dir: str) -> list[str]:
    """The job directories of a sweep (Hydra's default ``subdir`` is the job number;
    any sub-directory holding ``.hydra/`` or ``cfg.yaml`` counts), in job order."""
    out = []
    for entry in sorted(os.listdir(sweep_dir), key=_natural):
        path = os.path.join(sweep_dir, entry)
        if entry.startswith(".") or os.path.islink(path) or not os.path.isdir(path):
            continue
        if is_job_dir(path):
            out.append(path)
    return out


def parse_override(text: str):
    """``"+db.port=3306"`` -> ``("db.port", "3306")``; deletions (``~key``) -> None."""
    text = str(text).strip()
    if text.startswith("~") or "=" not in text:
        return None
    key, value = text.split("=", 1)
    key = key.lstrip("+")
    if "@" in key:  # group@package=option: the group selection is what varies
        key = key.split("@", 1)[0]
    return (key, value) if key else None


def overrides_as_config(overrides) -> dict:
    """Overrides as a nested mapping (``a.b=1`` -> ``{"a": {"b": "1"}}``), values as
    written on the command line."""
    out: dict = {}
    for text in overrides:
        parsed = parse_override(text)
        if parsed is None:
            continue
        key, value = parsed
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[parts[-1]] = value
    return out


def plain_config(data):
    """A composed config as plain data: interpolations between config keys resolved
    (``${model.dim}``), resolver calls (``${hydra:...}``, ``${now:...}``) kept as text,
    since an import cannot evaluate them and the live callback must log the same."""
    try:
        from omegaconf import OmegaConf
    except ImportError:
        return data

    def escape(value):
        if isinstance(value, str):
            return _RESOLVER_CALL.sub(r"\\${", value)
        if isinstance(value, dict):
            return {k: escape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [escape(v) for v in value]
        return value

    try:
        return OmegaConf.to_container(OmegaConf.create(escape(data)), resolve=True)
    except Exception:  # noqa: BLE001 - unresolvable (missing key, grammar): log as written
        return data


def read_job(path: str) -> HydraJob:
    """Read one job directory (never fails: problems are collected on the job)."""
    path = os.path.abspath(path)
    problems: list = []
    hydra_cfg = _read_yaml(os.path.join(path, ".hydra", "hydra.yaml"), problems, ".hydra/hydra.yaml")
    num = None
    if isinstance(hydra_cfg, dict):
        job = (hydra_cfg.get("hydra") or {}).get("job") or {}
        if isinstance(job.get("num"), int) and not isinstance(job.get("num"), bool):
            num = job["num"]
    base = os.path.basename(path)
    if num is None and base.isdigit():
        num = int(base)
    key = str(num) if num is not None else base
    overrides = _read_yaml(os.path.join(path, ".hydra", "overrides.yaml"), problems, ".hydra/overrides.yaml")
    if overrides is None and isinstance(hydra_cfg, dict):
        overrides = (((hydra_cfg.get("hydra") or {}).get("overrides") or {}).get("task"))
    if overrides is not None and not (isinstance(overrides, list)
                                      and all(isinstance(o, str) for o in overrides)):
        problems.append(".hydra/overrides.yaml: expected a list of strings")
        overrides = None
    config, source = None, None
    for rel in (".hydra/config.yaml", "cfg.yaml"):
        data = _read_yaml(os.path.join(path, *rel.split("/")), problems, rel)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{rel}: expected a mapping, got {type(data).__name__}")
            continue
        config, source = plain_config(data), rel
        break
    return HydraJob(path=path, key=key, num=num, overrides=list(overrides or []), config=config,
                    config_source=source, problems=problems)


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def parse_metrics_csv(text: str, where: str = METRICS_CSV) -> MetricsTable:
    """Lightning CSVLogger rows -> metric points; a row holds only the scalars logged at
    that step. ``epoch`` becomes a metric too (once per step). A last line without its
    line end (a job killed while writing it) is ignored; it, ragged rows and non-numeric
    cells are reported, not fatal."""
    table = MetricsTable()
    if not text.strip():
        table.problems.append(f"{where}: empty file")
        return table
    truncated_tail = not text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        table.problems.append(f"{where}: duplicate column names in the header")
    step_col = header.index("step") if "step" in header else None
    epoch_col = header.index("epoch") if "epoch" in header else None
    data_rows = rows[1:]
    ok = True
    n_good = 0
    seen_epoch = set()
    for i, row in enumerate(data_rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        last = i == len(rows)
        if last and truncated_tail:
            # CSV writers end every line; a last line without its end was being written
            # when the job stopped, and any of its numbers may be cut ("0.6" of "0.62")
            ok = False
            table.problems.append(f"{where}: line {i} is cut short (the job stopped while writing it); ignored")
            continue
        if len(row) != len(header):
            ok = False
            table.problems.append(f"{where}: line {i} has {len(row)} fields, the header {len(header)}; ignored")
            continue
        if step_col is not None:
            step_val = _number(row[step_col])
            if step_val is None or not math.isfinite(step_val) or step_val != int(step_val):
                ok = False
                table.problems.append(f"{where}: line {i}: step {row[step_col]!r} is not an integer; row ignored")
                continue
            step = int(step_val)
        else:
            step = n_good
        n_good += 1
        for j, (name, cell) in enumerate(zip(header, row)):
            cell = cell.strip()
            if j == step_col or cell == "":
                continue
            value = _number(cell)
            if value is None:
                ok = False
                table.problems.append(f"{where}: line {i}, column {name!r}: {cell[:40]!r} is not a number; skipped")
                continue
            if j == epoch_col:
                if (step, value) in seen_epoch:
                    continue
                seen_epoch.add((step, value))
            table.points.append((name, value, step))
    table.complete = ok and n_good > 0
    if n_good == 0 and ok:
        table.problems.append(f"{where}: no data rows")
    return table


def read_metrics(job_path: str) -> MetricsTable | None:
    """``facts/metrics.csv`` of a job, or None when the job has none."""
    path = os.path.join(job_path, *METRICS_CSV.split("/"))
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        table = MetricsTable()
        table.problems.append(f"{METRICS_CSV}: cannot be read ({exc.strerror or exc})")
        return table
    return parse_metrics_csv(text)


def job_files(job_path: str, include_models: bool = False) -> list[str]:
    """The job's files to log as artifacts (relative ``/`` paths): everything but models
    and checkpoints (unless asked), and never a link that leads out of the job dir."""
    from ..tracking.artifacts import select_files

    root = os.path.realpath(job_path)
    out = []
    for rel in select_files(job_path, exclude=() if include_models else MODEL_PATTERNS):
        full = os.path.join(job_path, *rel.split("/"))
        real = os.path.realpath(full)
        if real != root and not real.startswith(root + os.sep):
            continue
        if any(os.path.islink(os.path.join(job_path, *rel.split("/")[:k]))
               for k in range(1, rel.count("/") + 1)):
            continue  # inside a linked directory
        out.append(rel)
    return out


def job_status(job: HydraJob, metrics: MetricsTable | None) -> tuple[str, str | None]:
    """FINISHED, or FAILED with the reason, for a job read from disk: a job without
    ``facts/metrics.csv`` or with a partial one crashed (or had not ended)."""
    if metrics is None:
        return "FAILED", f"no {METRICS_CSV}"
    if not metrics.complete:
        return "FAILED", f"partial {METRICS_CSV}: " + "; ".join(metrics.problems[:3])
    return "FINISHED", None


def read_multirun_yaml(sweep_dir: str, problems: list) -> dict:
    data = _read_yaml(os.path.join(sweep_dir, "multirun.yaml"), problems, "multirun.yaml")
    return data if isinstance(data, dict) else {}

"""Read a Hydra multirun directory: jobs, overrides, composed configs, and the files to log.

The layout is the contract in ``formats/hydra_multirun.md``: a sweep directory with an
optional ``multirun.yaml`` and one sub-directory per job holding ``.hydra/`` (Hydra's
``config.yaml``, ``overrides.yaml``, ``hydra.yaml``), the job's own ``cfg.yaml``,
``facts/metrics.csv`` (PyTorch Lightning CSVLogger layout), ``model.pt``, ``figures/``
and a log. Both the Hydra callback and ``mlflow-sweep import-hydra`` read jobs through
this module (and :mod:`.overrides`, :mod:`.metrics_csv`, :mod:`.job_status`,
:mod:`.secrets`), so a job logged live and a job imported later give the same run.

Nothing here imports Hydra or MLflow; YAML is read with a safe loader (:func:`safe_load`) and model
files are never opened.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import yaml

from ..parsers.bounds import TooManyNodes, count_nodes
from ..tracking.artifacts import select_files

MODEL_PATTERNS = ("*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", "*.joblib", "*.onnx",
                  "*.safetensors", "*.h5", "*.hdf5", "*.keras", "*.bin", "checkpoints/**")
_RESOLVER_CALL = re.compile(r"(?<!\\)\$\{(?=[A-Za-z_][\w.\-]*:)")
#: PyYAML's safe loader, on libyaml's parser when PyYAML has it (the same data, several
#: times faster: a job's Hydra files are read while the sweep waits)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream):
    """``yaml.safe_load`` on :data:`SAFE_LOADER`."""
    return yaml.load(stream, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


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
    job_id: str | None = None  # hydra.job.id: the scheduler's id under submitit
    launcher: str | None = None  # hydra/launcher choice: basic, joblib, submitit_slurm, ...
    submitit_folder: str | None = None  # hydra.launcher.submitit_folder as written

    @property
    def name(self) -> str:
        return ",".join(self.overrides) if self.overrides else f"job {self.key}"


def outside(path: str, root: str) -> str | None:
    """Where ``path`` really is when that lies outside the directory ``root`` (a link on
    its way, the file or a directory above it, leads out), else None."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
        return None
    return real


def refused(what: str, real: str) -> str:
    return f"{what}: a link leading out of the sweep directory (to {real}): not read"


def read_yaml(path: str, problems: list, what: str, root: str | None = None):
    """A YAML file's data, or None (missing, invalid, or refused: ``problems`` says why).
    ``root``: the sweep directory; a file that resolves outside it is never opened. Data
    whose aliases expand to more values than the node limit is refused before anything
    walks it (:func:`~mlflow_sweep_plugin.parsers.bounds.count_nodes`)."""
    if root is not None and os.path.lexists(path):
        real = outside(path, root)
        if real is not None:
            problems.append(refused(what, real))
            return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = safe_load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - bad input: say which file, go on
        problems.append(f"{what}: not valid YAML ({type(exc).__name__}: {str(exc)[:200]})")
        return None
    try:
        count_nodes(data)  # measured before OmegaConf (or anything) expands it
    except TooManyNodes as exc:
        problems.append(f"{what}: {exc}")
        return None
    return data


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



def plain_config(data):
    """A composed config as plain data: interpolations between config keys resolved
    (``${model.dim}``), resolver calls (``${hydra:...}``, ``${now:...}``) kept as text,
    since an import cannot evaluate them and the live callback must log the same."""
    try:
        from omegaconf import OmegaConf  # hydra-core is an optional extra
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


def read_job(path: str, root: str | None = None) -> HydraJob:
    """Read one job directory (never fails: problems are collected on the job).

    ``root`` is the sweep directory (default: the job directory's parent): a file of the
    job that resolves outside it (a linked ``.hydra/``, a ``config.yaml`` that is a link
    to elsewhere) is not read, one problem each."""
    path = os.path.abspath(path)
    root = os.path.dirname(path) if root is None else root
    problems: list = []
    hydra_cfg = read_yaml(os.path.join(path, ".hydra", "hydra.yaml"), problems, ".hydra/hydra.yaml", root)
    num = job_id = launcher = submitit_folder = None
    if isinstance(hydra_cfg, dict):
        hydra = hydra_cfg.get("hydra") or {}
        job = hydra.get("job") or {}
        if isinstance(job.get("num"), int) and not isinstance(job.get("num"), bool):
            num = job["num"]
        launcher, job_id, submitit_folder = launcher_facts(hydra)
    base = os.path.basename(path)
    if num is None and base.isdigit():
        num = int(base)
    key = str(num) if num is not None else base
    overrides = read_yaml(os.path.join(path, ".hydra", "overrides.yaml"), problems, ".hydra/overrides.yaml",
                           root)
    if overrides is None and isinstance(hydra_cfg, dict):
        overrides = (((hydra_cfg.get("hydra") or {}).get("overrides") or {}).get("task"))
    if overrides is not None and not (isinstance(overrides, list)
                                      and all(isinstance(o, str) for o in overrides)):
        problems.append(".hydra/overrides.yaml: expected a list of strings")
        overrides = None
    config, source = None, None
    for rel in (".hydra/config.yaml", "cfg.yaml"):
        data = read_yaml(os.path.join(path, *rel.split("/")), problems, rel, root)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{rel}: expected a mapping, got {type(data).__name__}")
            continue
        config, source = plain_config(data), rel
        break
    return HydraJob(path=path, key=key, num=num, overrides=list(overrides or []), config=config,
                    config_source=source, problems=problems, job_id=job_id, launcher=launcher,
                    submitit_folder=submitit_folder)


def plugin_choice(hydra: dict, group: str) -> str | None:
    """Which plugin of ``hydra/<group>`` (``launcher``, ``sweeper``) a Hydra config chose:
    its ``hydra.runtime.choices`` entry (``basic``, ``joblib``, ``optuna``), else the name
    of the class ``hydra.<group>._target_`` names."""
    if not isinstance(hydra, dict):
        return None
    choices = (hydra.get("runtime") or {}).get("choices") or {}
    chosen = choices.get(f"hydra/{group}") if isinstance(choices, dict) else None
    if chosen:
        return str(chosen)
    node = hydra.get(group) or {}
    target = str(node.get("_target_") or "") if isinstance(node, dict) else ""
    return target.rsplit(".", 1)[-1] or None


def launcher_facts(hydra: dict) -> tuple[str | None, str | None, str | None]:
    """``(launcher, job id, submitit folder)`` from a job's ``hydra`` config (the saved
    ``.hydra/hydra.yaml`` or the live one as a dict): the ``hydra/launcher`` choice
    (``basic``, ``joblib``, ``submitit_local``, ...; else the launcher class's name), the
    scheduler's job id when a submitit launcher ran it (``hydra.job.id``), and
    ``hydra.launcher.submitit_folder`` as written."""
    if not isinstance(hydra, dict):
        return None, None, None
    launcher_cfg = hydra.get("launcher") or {}
    target = str(launcher_cfg.get("_target_") or "") if isinstance(launcher_cfg, dict) else ""
    launcher = plugin_choice(hydra, "launcher")
    job_id = folder = None
    if "submitit" in target:
        raw = (hydra.get("job") or {}).get("id")
        job_id = str(raw) if raw not in (None, "", "???") else None
        folder = launcher_cfg.get("submitit_folder")
        folder = str(folder) if folder else None
    return (str(launcher) if launcher else None), job_id, folder


def job_files(job_path: str, include_models: bool = False) -> list[str]:
    """The job's files to log as artifacts (relative ``/`` paths): everything but models
    and checkpoints (unless asked), and never a link that leads out of the job dir."""
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


def read_multirun_yaml(sweep_dir: str, problems: list) -> dict:
    data = read_yaml(os.path.join(sweep_dir, "multirun.yaml"), problems, "multirun.yaml", sweep_dir)
    return data if isinstance(data, dict) else {}

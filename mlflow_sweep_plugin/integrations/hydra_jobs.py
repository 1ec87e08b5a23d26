"""Read a Hydra multirun directory: jobs, overrides, composed configs, ``facts/metrics.csv``.

The layout is the contract in ``formats/hydra_multirun.md``: a sweep directory with an
optional ``multirun.yaml`` and one sub-directory per job holding ``.hydra/`` (Hydra's
``config.yaml``, ``overrides.yaml``, ``hydra.yaml``), the job's own ``cfg.yaml``,
``facts/metrics.csv`` (PyTorch Lightning CSVLogger layout), ``model.pt``, ``figures/``
and a log. Both the Hydra callback and ``mlflow-sweep import-hydra`` read jobs through
this module, so a job logged live and a job imported later give the same run: the
callback records how each job ended in its ``.hydra/job_return.yaml`` (Hydra records
nothing), which the import reads (:func:`job_status`).

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

from .sweep_runs import traceback_error

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


def _refused(what: str, real: str) -> str:
    return f"{what}: a link leading out of the sweep directory (to {real}): not read"


def _read_yaml(path: str, problems: list, what: str, root: str | None = None):
    """A YAML file's data, or None (missing, invalid, or refused: ``problems`` says why).
    ``root``: the sweep directory; a file that resolves outside it is never opened. Data
    whose aliases expand to more values than the node limit is refused before anything
    walks it (:func:`~mlflow_sweep_plugin.parsers.bounds.count_nodes`)."""
    import yaml

    from ..parsers.bounds import TooManyNodes, count_nodes

    if root is not None and os.path.lexists(path):
        real = outside(path, root)
        if real is not None:
            problems.append(_refused(what, real))
            return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
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


DELETED = "(deleted)"  # the param value of a deletion override (``~key``)


def parse_override(text: str):
    """``"+db.port=3306"`` -> ``("db.port", "3306")``; deletions (``~key``) -> None."""
    parsed = _split_override(text)
    if parsed is None or parsed[0] == "~":
        return None
    _op, key, _package, value = parsed
    return key, value


def _split_override(text: str):
    """``(op, key, package, value)`` of one override as written (``op`` is ``""``,
    ``"+"``, ``"++"`` or ``"~"``; ``value`` None for ``~key``), or None when it is not one."""
    text = str(text).strip()
    op = ""
    for prefix in ("++", "+", "~"):
        if text.startswith(prefix):
            op, text = prefix, text[len(prefix):]
            break
    key, sep, value = text.partition("=")
    if not sep and op != "~":
        return None
    key = key.strip()
    package = None
    if "@" in key:  # group@package=option: the group selection is what varies
        key, package = key.split("@", 1)
    if not key:
        return None
    return op, key, package, (value if sep else None)


def override_params(overrides, redact=None) -> dict:
    """Each override as one param under its own name, values as written on the command
    line: ``db=mysql`` -> ``db``, ``db.port=1`` -> ``db.port`` (both, in any order),
    ``+x=1`` -> ``x``, ``~x`` -> ``x = (deleted)``, ``group@pkg=opt`` -> ``group`` (or
    ``group@pkg`` escaped when the same group is selected twice). Names are escaped per
    segment as :func:`~mlflow_sweep_plugin.tracking.keys.join_key` does; keys that look
    like credentials get ``***`` (``redact``: see :mod:`~mlflow_sweep_plugin.tracking.redact`)."""
    from ..tracking.keys import join_key
    from ..tracking.redact import REDACTED, redactor

    secrets = redactor(redact)
    parsed = [p for p in (_split_override(o) for o in overrides) if p is not None]
    counts: dict = {}
    for _op, key, _package, _value in parsed:
        counts[key] = counts.get(key, 0) + 1
    out: dict = {}
    for op, key, package, value in parsed:
        path = key.split(".")
        if package is not None and counts[key] > 1:
            path[-1] = f"{path[-1]}@{package}"
        name = join_key(path)
        if op == "~":
            value = DELETED
        elif secrets is not None and secrets.key_matches(key.split(".")):
            value = REDACTED
        out[name] = value
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


def read_job(path: str, root: str | None = None) -> HydraJob:
    """Read one job directory (never fails: problems are collected on the job).

    ``root`` is the sweep directory (default: the job directory's parent): a file of the
    job that resolves outside it (a linked ``.hydra/``, a ``config.yaml`` that is a link
    to elsewhere) is not read, one problem each."""
    path = os.path.abspath(path)
    root = os.path.dirname(path) if root is None else root
    problems: list = []
    hydra_cfg = _read_yaml(os.path.join(path, ".hydra", "hydra.yaml"), problems, ".hydra/hydra.yaml", root)
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
    overrides = _read_yaml(os.path.join(path, ".hydra", "overrides.yaml"), problems, ".hydra/overrides.yaml",
                           root)
    if overrides is None and isinstance(hydra_cfg, dict):
        overrides = (((hydra_cfg.get("hydra") or {}).get("overrides") or {}).get("task"))
    if overrides is not None and not (isinstance(overrides, list)
                                      and all(isinstance(o, str) for o in overrides)):
        problems.append(".hydra/overrides.yaml: expected a list of strings")
        overrides = None
    config, source = None, None
    for rel in (".hydra/config.yaml", "cfg.yaml"):
        data = _read_yaml(os.path.join(path, *rel.split("/")), problems, rel, root)
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


def launcher_facts(hydra: dict) -> tuple[str | None, str | None, str | None]:
    """``(launcher, job id, submitit folder)`` from a job's ``hydra`` config (the saved
    ``.hydra/hydra.yaml`` or the live one as a dict): the ``hydra/launcher`` choice
    (``basic``, ``joblib``, ``submitit_local``, ...; else the launcher class's name), the
    scheduler's job id when a submitit launcher ran it (``hydra.job.id``), and
    ``hydra.launcher.submitit_folder`` as written."""
    if not isinstance(hydra, dict):
        return None, None, None
    choices = (hydra.get("runtime") or {}).get("choices") or {}
    launcher_cfg = hydra.get("launcher") or {}
    launcher = choices.get("hydra/launcher") if isinstance(choices, dict) else None
    target = str(launcher_cfg.get("_target_") or "") if isinstance(launcher_cfg, dict) else ""
    if not launcher and target:
        launcher = target.rsplit(".", 1)[-1]
    job_id = folder = None
    if "submitit" in target:
        raw = (hydra.get("job") or {}).get("id")
        job_id = str(raw) if raw not in (None, "", "???") else None
        folder = launcher_cfg.get("submitit_folder")
        folder = str(folder) if folder else None
    return (str(launcher) if launcher else None), job_id, folder


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


def read_metrics(job_path: str, root: str | None = None, problems: list | None = None) -> MetricsTable | None:
    """``facts/metrics.csv`` of a job, or None when the job has none. ``root``: the sweep
    directory (default: the job directory's parent); a file resolving outside it (itself
    or ``facts/`` a link to elsewhere) is not read: None, and why in ``problems``."""
    path = os.path.join(job_path, *METRICS_CSV.split("/"))
    if not os.path.isfile(path):
        return None
    real = outside(path, os.path.dirname(os.path.abspath(job_path)) if root is None else root)
    if real is not None:
        if problems is not None:
            problems.append(_refused(METRICS_CSV, real))
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


JOB_RETURN = ".hydra/job_return.yaml"  # written by the callback: how the job ended
_LOG_RECORD = re.compile(r"^\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d")  # a new log line: the job went on
_LOG_TAIL_BYTES = 256 * 1024
_STATUSES = {"COMPLETED": "FINISHED", "FINISHED": "FINISHED", "FAILED": "FAILED", "KILLED": "KILLED"}


def write_job_return(job_path: str, status: str, error: str | None = None) -> None:
    """Record how a job ended in ``.hydra/job_return.yaml`` (Hydra itself records
    nothing), so that importing the directory later gives the status the callback saw."""
    import yaml

    path = os.path.join(job_path, *JOB_RETURN.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {"status": status}
    if error:
        data["error"] = str(error)[:5000]
    text = ("# how this job ended, written by mlflow-sweep's Hydra callback\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_job_return(job_path: str, problems: list | None = None, root: str | None = None):
    """``(status, error)`` from ``.hydra/job_return.yaml``, or None without a usable one
    (or one resolving outside ``root``, default the job directory's parent)."""
    root = os.path.dirname(os.path.abspath(job_path)) if root is None else root
    data = _read_yaml(os.path.join(job_path, *JOB_RETURN.split("/")),
                      problems if problems is not None else [], JOB_RETURN, root)
    if not isinstance(data, dict):
        return None
    status = _STATUSES.get(str(data.get("status", "")).upper())
    if status is None:
        return None
    error = data.get("error")
    return status, (str(error) if error else None)


def log_failure(job_path: str) -> str | None:
    """The error a job's log ends with, or None: a Python traceback (``log.exception``)
    that nothing was logged after, in a ``*.log`` file of the job directory (Hydra's
    ``<job name>.log``). Returns the exception line (``ValueError: bad lr``)."""
    try:
        names = sorted(os.listdir(job_path))
    except OSError:
        return None
    for name in names:
        path = os.path.join(job_path, name)
        if not name.endswith(".log") or os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.path.getsize(path) - _LOG_TAIL_BYTES))
                lines = fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        error, at = traceback_error(lines)
        if error and not any(_LOG_RECORD.match(line) for line in lines[at + 1:]):
            return error  # (a log record after it: the job went on, it is not how it ended)
    return None


def metrics_file_state(metrics: MetricsTable | None) -> str:
    """The tag ``mlflow_sweep.metrics_file``: ``absent``, ``partial`` or ``complete``."""
    if metrics is None:
        return "absent"
    return "complete" if metrics.complete else "partial"


NO_END_RECORDED = ("no record of how the job ended: the callback did not see its end and "
                   "nothing else recorded one (its process was killed, or it is still running)")


def job_status(job: HydraJob, metrics: MetricsTable | None, *, sweep_dir: str | None = None,
               unrecorded: str | None = "FINISHED") -> tuple[str | None, str | None]:
    """FINISHED, FAILED (or KILLED) with the reason, for a job read from disk, as far as
    its directory proves it: the callback's ``.hydra/job_return.yaml``, else submitit's
    record of a job that died (:mod:`.submitit_jobs`: time limit, preemption, out of
    memory, an error outside the task), else a traceback its log ends with, else a
    partial ``facts/metrics.csv`` (the job stopped while writing it). Otherwise
    ``unrecorded``: FINISHED for a directory that ran without the callback (a job
    without ``facts/metrics.csv`` is not a failure: most apps write none); KILLED where
    the callback ran (it records every end it sees); None to leave the job alone (it may
    still be running)."""
    record = read_job_return(job.path, job.problems, sweep_dir)
    if record is not None:
        status, error = record
        return status, (error or "the job failed") if status != "FINISHED" else None
    submitit = None
    if job.job_id:
        from .submitit_jobs import record_of

        submitit = record_of(job, sweep_dir or os.path.dirname(job.path))
        if submitit is not None and submitit.ended and submitit.status != "FINISHED":
            return submitit.status, submitit.reason
    error = log_failure(job.path)
    if error:
        return "FAILED", error
    if metrics is not None and not metrics.complete:
        return "FAILED", f"partial {METRICS_CSV}: " + "; ".join(metrics.problems[:3])
    if submitit is not None and submitit.ended:  # submitit saw it succeed
        return "FINISHED", None
    if unrecorded in (None, "FINISHED"):
        return unrecorded, None
    return unrecorded, NO_END_RECORDED


_SCRUB_SUFFIXES = (".log", ".txt", ".json", ".out", ".err")
_YAML_SUFFIXES = (".yaml", ".yml")
_MAX_SCRUB_BYTES = 16 * 1024 * 1024
_NOT_SECRET_VALUES = frozenset({"none", "null", "true", "false", "???", "***", "(deleted)"})
_KEY_LINE = re.compile(r"^(\s*(?:-\s+)?[\"']?)([A-Za-z_][\w.\-]*)([\"']?\s*[:=]\s*)(\S.*)$")


def secret_values(config, overrides, secrets) -> set:
    """The texts of the values that ``secrets`` hides in a job (its composed config and
    its overrides), to scrub them from the job's text files (a log that printed the
    config). Short or common ones (``true``, 3 characters or less) are left."""
    if secrets is None:
        return set()
    found: set = set()

    def collect(data, hidden: bool):
        if isinstance(data, dict):
            for k, v in data.items():
                leaf = not isinstance(v, (dict, list))
                collect(v, hidden or secrets.matches(k, leaf=leaf))
        elif isinstance(data, list):
            for v in data:
                collect(v, hidden)
        elif hidden and data is not None:
            found.add(str(data))

    if isinstance(config, (dict, list)):
        collect(config, False)
    for text in overrides or ():
        parsed = _split_override(text)
        if parsed and parsed[3] is not None and secrets.key_matches(parsed[1].split(".")):
            found.add(parsed[3])
    return {v for v in found if len(v) >= 4 and v.lower() not in _NOT_SECRET_VALUES}


def redacted_text(path: str, secrets, values=()) -> str | None:
    """The text to log instead of the file at ``path`` when it holds secrets: a YAML
    file with its credential keys (and ``key=value`` overrides) as ``***``; a log or
    text file with ``key: value`` / ``key=value`` lines of credential keys and the known
    secret ``values`` as ``***`` (a log that printed the config). None when there is nothing to hide (the file is logged
    as it is) or the file is not text."""
    from ..tracking.redact import REDACTED, redact_data, redact_overrides_text

    if secrets is None:
        return None
    lower = path.lower()
    is_yaml = lower.endswith(_YAML_SUFFIXES)
    if not (is_yaml or lower.endswith(_SCRUB_SUFFIXES)):
        return None
    try:
        if os.path.getsize(path) > _MAX_SCRUB_BYTES:
            return None
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None
    new = text
    if is_yaml:
        import yaml

        from ..parsers.bounds import count_nodes

        try:
            data = yaml.safe_load(text)
            count_nodes(data)  # an alias bomb is scrubbed as text, never walked
        except Exception:  # noqa: BLE001 - not YAML after all (or a bomb): scrub it as text
            data = None
            is_yaml = False
        if is_yaml:
            hidden = redact_data(data, secrets)
            if hidden != data:
                new = yaml.safe_dump(hidden, sort_keys=False, allow_unicode=True,
                                     default_flow_style=False)
    if not is_yaml:
        lines = []
        for line in new.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            m = _KEY_LINE.match(body)
            if m and secrets.matches(m.group(2).rsplit(".", 1)[-1]):
                body = m.group(1) + m.group(2) + m.group(3) + REDACTED
            else:
                body = redact_overrides_text(body, secrets)
            lines.append(body + line[len(line.rstrip("\r\n")):])
        new = "".join(lines)
        for value in sorted(values, key=len, reverse=True):
            new = new.replace(value, REDACTED)
    return new if new != text else None


def read_multirun_yaml(sweep_dir: str, problems: list) -> dict:
    data = _read_yaml(os.path.join(sweep_dir, "multirun.yaml"), problems, "multirun.yaml", sweep_dir)
    return data if isinstance(data, dict) else {}

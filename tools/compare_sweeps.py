"""Run the same sweeps with two checkouts of mlflow-sweep and compare the stores run by run.

usage: python tools/compare_sweeps.py OLD_CHECKOUT NEW_CHECKOUT WORKDIR
(e.g. two `git worktree add --detach` checkouts before and after a refactoring; the
venv's editable install provides the entry points, so both checkouts must have the
entry-point modules that setup.cfg names, and the old one's run context provider may
fail to register: it only tags runs a job creates itself, which these sweeps do not)

Sweeps: the backend (local processes, and submitit's local executor) on
examples/sweep_project with a failing point; the Hydra callback under the basic, joblib
and submitit_local launchers on examples/hydra_app; import-hydra of a multirun directory
run without the callback. Each checkout logs into its own sqlite store; the dump of each
experiment (run names, statuses, params, metrics and histories, tags, artifact paths and
the contents of small text artifacts) must be equal once run ids, times, paths of the
checkout/work dir, and host-specific values are normalised.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

OLD, NEW, WORK = map(os.path.abspath, sys.argv[1:4])
PY = sys.executable
VOLATILE_TAGS = {"mlflow.source.git.commit", "mlflow.user", "mlflow.source.name", "mlflow_sweep.sweep_id",
                 "mlflow_sweep.job_id", "mlflow_sweep.log_dir", "mlflow.parentRunId", "mlflow_sweep.superseded_by",
                 "mlflow_sweep.hydra.sweep_dir", "mlflow.log-model.history", "mlflow.project.env"}

BACKEND = textwrap.dedent("""
    import sys, mlflow
    from mlflow.tracking import MlflowClient
    checkout, uri, project, executor = sys.argv[1:5]
    if checkout.endswith("old"):
        from mlflow_sweep_plugin.integrations.backend import SweepBackend
    else:
        from mlflow_sweep_plugin.backend import SweepBackend
    mlflow.set_tracking_uri(uri)
    exp = MlflowClient(uri).create_experiment("backend-" + executor)
    config = {"grid": {"lr": [0.1, 0.5, 0.9], "layers": [1, 2]}, "max_parallel": 2,
              "executor": executor, "sweep_name": "cmp"}
    from mlflow.projects.utils import (PROJECT_BUILD_IMAGE, PROJECT_DOCKER_ARGS, PROJECT_DOCKER_AUTH,
                                       PROJECT_ENV_MANAGER, PROJECT_STORAGE_DIR, PROJECT_SYNCHRONOUS)
    config.update({PROJECT_ENV_MANAGER: "local", PROJECT_SYNCHRONOUS: True, PROJECT_DOCKER_ARGS: {},
                   PROJECT_STORAGE_DIR: None, PROJECT_BUILD_IMAGE: False, PROJECT_DOCKER_AUTH: None})
    if executor == "submitit":
        config["submitit"] = {"cluster": "local", "folder": sys.argv[5]}
    run = SweepBackend().run(project, "main", {"max_lr": "0.6"}, None, config, uri, exp)
    run.wait()
""")


def sh(cmd, env, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    if p.returncode not in (0, 1):
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise SystemExit(f"{cmd} exited {p.returncode}")
    return p


def run_all(checkout, label):
    root = os.path.join(WORK, label)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    uri = f"sqlite:///{root}/mlflow.db"
    plugin_srcs = [os.path.join(checkout, "plugins", d, "src") for d in sorted(os.listdir(os.path.join(checkout, "plugins")))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([checkout, *plugin_srcs]), MLFLOW_TRACKING_URI=uri,
               PYTHONUNBUFFERED="1")
    for k in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(k, None)
    project = os.path.join(root, "project")
    shutil.copytree(os.path.join(checkout, "examples", "sweep_project"), project)
    script = os.path.join(root, "backend.py")
    open(script, "w").write(BACKEND)
    for executor in ("local", "submitit"):
        sh([PY, script, checkout, uri, project, executor, os.path.join(root, "submitit", "%j")], env, cwd=root)
    app = os.path.join(root, "app")
    shutil.copytree(os.path.join(checkout, "examples", "hydra_app"), app)
    for launcher in ("basic", "joblib", "submitit_local"):
        args = [PY, os.path.join(app, "app.py"), "--multirun", f"hydra.sweep.dir={root}/multirun-{launcher}",
                f"hydra.callbacks.mlflow_sweep.experiment_name=hydra-{launcher}", "lr=0.01,0.1,2.0",
                "model.width=8,16"]
        if launcher != "basic":
            args.append(f"hydra/launcher={launcher}")
        sh(args, env, cwd=app)
    plain = [PY, os.path.join(app, "app.py"), "--multirun", f"hydra.sweep.dir={root}/multirun-plain",
             "~hydra.callbacks.mlflow_sweep", "lr=0.01,0.1", "model.width=8"]
    sh(plain, env, cwd=app)
    sh([PY, "-m", "mlflow_sweep_plugin", "import-hydra", f"{root}/multirun-plain", "--experiment-name",
        "imported"], env, cwd=root)
    return dump(uri, root, checkout)


def norm(text, root, checkout):
    text = str(text).replace(root, "<root>").replace(checkout, "<checkout>")
    text = re.sub(r"\b[0-9a-f]{32}\b", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T_]\d\d[:-]\d\d[:-]\d\d[.,\d]*", "<time>", text)
    text = re.sub(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", "<time>", text)  # MLflow's log lines
    text = re.sub(r"/tmp/tmp\w+", "<tmp>", text)
    text = re.sub(r"\bid: '\d+'", "id: <job>", text)  # submitit's job id: a process id locally
    text = re.sub(r"job_id=\d+|/submitit/\d+/\d+_", "<job>", text)
    text = "\n".join(line for line in text.split("\n") if "context provider" not in line
                      and "_run_context_provider_registry" not in line)
    return text


def dump(uri, root, checkout):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    out = {}
    for exp in client.search_experiments():
        runs = client.search_runs([exp.experiment_id], max_results=1000)
        names = {r.info.run_id: r.info.run_name for r in runs}
        items = []
        for r in runs:
            tags = {k: norm(v, root, checkout) for k, v in r.data.tags.items() if k not in VOLATILE_TAGS}
            if "mlflow.parentRunId" in r.data.tags:
                tags["parent"] = names.get(r.data.tags["mlflow.parentRunId"])
            hist = {k: sorted((m.step, m.value) for m in client.get_metric_history(r.info.run_id, k))
                    for k in r.data.metrics}
            arts, stack = {}, [None]
            while stack:
                for f in client.list_artifacts(r.info.run_id, stack.pop()):
                    if f.is_dir:
                        stack.append(f.path)
                    elif f.path.endswith((".txt", ".yaml", ".json", ".log")) and (f.file_size or 0) < 100_000:
                        local = client.download_artifacts(r.info.run_id, f.path, os.path.join(root, "dl"))
                        arts[f.path] = norm(open(local, errors="replace").read(), root, checkout)
                    else:
                        arts[f.path] = "<file>"
            items.append({"name": r.info.run_name, "status": r.info.status,
                          "params": {k: norm(v, root, checkout) for k, v in r.data.params.items()},
                          "metrics": hist, "tags": tags, "artifacts": arts})
        out[exp.name] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    return out


old = run_all(OLD, "old")
new = run_all(NEW, "new")
bad = 0
for exp in sorted(set(old) | set(new)):
    a, b = old.get(exp), new.get(exp)
    if a == b:
        print(f"{exp}: {len(a)} runs identical")
        continue
    bad += 1
    print(f"{exp}: DIFFERENT")
    for i, (x, y) in enumerate(zip(a or [], b or [])):
        if x != y:
            for key in x:
                if x[key] != y.get(key):
                    print(f"  run {x['name']!r} {key}:\n    old {x[key]}\n    new {y.get(key)}")
sys.exit(1 if bad else 0)

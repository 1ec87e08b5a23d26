"""The README is part of the interface: its two commands work as written (CI runs its test
command, its install step installs every plugin), and its examples run. The docs site is
checked by tests/docs/."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _readme_commands(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).strip()


def _marked_groups() -> set[str]:
    """The markers pytest.ini declares (the groups the default run leaves out)."""
    ini = (ROOT / "pytest.ini").read_text()
    return set(re.findall(r"^\s+(\w+):", ini.split("markers =", 1)[1], re.M))


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = _readme_commands("Run the tests:")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert test_cmd in ci
    runs = [line for line in ci if line.startswith("python -m pytest")]
    assert runs[0] == test_cmd  # the README's test command is the first test command CI runs
    # ... and after it CI does nothing but marked groups pytest.ini declares, each named in the README
    for line in ci[ci.index(test_cmd) + 1:]:
        m = re.fullmatch(r"python -m pytest -m (\w+)", line)
        assert m and m.group(1) in _marked_groups(), line
        assert f"`{line}`" in README, line


def test_readme_install_command_installs_every_plugin():
    install = _readme_commands("## Quick start")
    for plugin_dir in sorted((ROOT / "plugins").iterdir()):
        if (plugin_dir / "setup.cfg").exists():
            assert f"-e plugins/{plugin_dir.name}" in install, plugin_dir.name
    assert install.endswith("mlflow-sweep demo")


def test_exit_codes_documented_in_help_and_readme(sweep_cli):
    res = sweep_cli("export", "--help")
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\s+{code}\s+\S", res.stdout, re.M), code
        assert f"| {code} |" in README


def _block_after(marker: str) -> str:
    """The fenced code block that starts with ``marker`` (its first line)."""
    m = re.search(r"```\w*\n(" + re.escape(marker) + r".*?)\n```", README, re.S)
    assert m, marker
    return m.group(1)


def test_readme_logging_example_runs(sweep_store):
    """The "Log" example, on a real sqlite store."""
    from mlflow.tracking import MlflowClient

    exec(compile(_block_after("from mlflow_sweep_plugin import log_config"), "README.md", "exec"), {})
    client = MlflowClient(sweep_store.tracking_uri)
    exp = client.get_experiment_by_name("sae")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.params["model.lr"] == "0.001" and run.data.params["seed"] == "3"
    assert run.data.metrics["SVGD.auroc.obs"] == 0.94 and run.data.params["model.layers"] == "64,32"


def test_readme_is_one_page():
    assert len(README.splitlines()) < 200

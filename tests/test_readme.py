"""The README is part of the interface: every hook documented, the CI runs its test command."""

from __future__ import annotations

import inspect
import pathlib
import re

from mlflow_sweep_plugin import hookspecs

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _hookspecs():
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("sweep_")]


def test_every_hookspec_is_documented_in_readme():
    specs = _hookspecs()
    assert "sweep_register_parsers" in specs
    missing = [name for name in specs if f"`{name}(" not in README]
    assert not missing, f"hookspecs not documented in README.md: {missing}"


def test_every_hookspec_has_a_docstring_and_prefix():
    for name in _hookspecs():
        fn = getattr(hookspecs, name)
        assert len(inspect.getdoc(fn) or "") > 80, f"{name} needs a real docstring"
    public = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
              if hasattr(f, "mlflow_sweep_spec")]
    assert all(n.startswith("sweep_") for n in public)


def _readme_commands(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).strip()


#: the marked group CI runs after the README's test command (the production stores)
STORES_CMD = "python -m pytest -m stores"


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = _readme_commands("Run the tests:")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert test_cmd in ci
    runs = [line for line in ci if line.startswith("python -m pytest")]
    assert runs[0] == test_cmd  # the README's test command is the first test command CI runs
    # ... and after it CI does nothing but the production-store group the README names
    assert ci[ci.index(test_cmd) + 1:] in ([], [STORES_CMD])
    if STORES_CMD in ci:
        assert STORES_CMD in README


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


def test_readme_plugin_example_works_as_written(tmp_path):
    """The plugin and its test from 'Writing a parser plugin', run as a third party would:
    the module on the path, an entry point in the ``mlflow_sweep`` group, plain pytest (the
    harness comes through its ``pytest11`` entry point, no ``-p``)."""
    import os
    import subprocess
    import sys

    from sweep_test_helpers import make_dist_info

    site = tmp_path / "site"
    make_dist_info(site, "my-sweep-plugin", {"scores": "my_sweep_plugin"},
                   {"my_sweep_plugin": _block_after("# my_sweep_plugin.py")})
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_scores.py").write_text(_block_after("# tests/test_scores.py"))
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    listed = subprocess.run([sys.executable, "-m", "mlflow_sweep_plugin", "plugins"], env=env,
                            capture_output=True, text=True, timeout=120).stdout
    assert "parser scores (v1): eval/{split}/scores.json" in listed

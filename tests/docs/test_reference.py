"""The reference is complete against the code: every command and option of the click tree
is in the generated commands page, every hook in the generated hooks page, and the
hand-written tables (environment variables, backend and callback keys, exit codes) name
everything the code has."""

from __future__ import annotations

import inspect
import re

import click
import pytest
import yaml
from docs_test_helpers import ROOT, load_hook, page

from mlflow_sweep_plugin import hookspecs
from mlflow_sweep_plugin.cli import main

HOOK = load_hook()


def _walk(group: click.Group, path=()):
    """Every (path, command) of the click tree, found independently of the hook."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd.hidden:
            continue
        yield path + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, path + (name,))


@pytest.fixture(scope="module")
def commands_md():
    return HOOK.render_commands()


def _section(md: str, title: str) -> str:
    """The text of the ``## title`` section."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    assert m, f"no section '## {title}' in the generated reference"
    return m.group(1)


def test_every_command_and_option_is_in_the_generated_reference(commands_md):
    paths = list(_walk(main))
    assert {p[0] for p, _ in paths} >= {"export", "report", "demo", "sync", "flatten", "import-hydra", "plugins"}
    missing = []
    for path, cmd in paths:
        title = " ".join(("mlflow-sweep",) + path)
        section = _section(commands_md, title)
        for param in cmd.params:
            if getattr(param, "hidden", False):
                continue
            names = list(param.opts) + list(getattr(param, "secondary_opts", []))
            if isinstance(param, click.Argument):
                names = [param.human_readable_name]
            missing += [f"{title} {n}" for n in names if f"`{n}`" not in section]
        if cmd.help:
            first = inspect.cleandoc(cmd.help).split("\n")[0]
            assert HOOK.md_text(first) in section, title
    assert not missing, f"not in the generated reference: {missing}"


def test_the_group_and_its_options_are_documented(commands_md):
    section = _section(commands_md, "mlflow-sweep (the group)")
    assert "`--version`" in section and "`--help`" in section


def test_export_shows_its_other_spellings_and_exit_codes(commands_md):
    section = _section(commands_md, "mlflow-sweep export")
    assert "mlflow sweep-export [OPTIONS]" in section
    assert "python -m mlflow_sweep_plugin export [OPTIONS]" in section
    assert re.search(r"^\s+130\s+interrupted", section, re.M)


def test_help_text_is_escaped_for_markdown(commands_md):
    # click help has <placeholders> and *globs*: they must show as text, not HTML or emphasis
    assert "<YYYYmmdd_HHMMSS>" not in commands_md
    assert "&lt;YYYYmmdd\\_HHMMSS&gt;" in commands_md
    assert HOOK.md_text("a|b *c* <d>") == "a\\|b \\*c\\* &lt;d&gt;"


def test_a_new_command_appears_without_editing_a_page():
    @click.group()
    def group():
        """Top."""

    @group.command("status")
    @click.option("--since", metavar="WHEN", help="Only sweeps since WHEN.")
    @click.argument("sweep", required=False)
    def status(since, sweep):
        """Show a sweep's status."""

    md = HOOK.render_commands(group)
    section = _section(md, "mlflow-sweep status")
    assert "`--since`" in section and "`WHEN`" in section and "`SWEEP`" in section
    assert "Show a sweep's status." in section


def test_the_pages_carry_the_markers_and_mkdocs_uses_the_hook():
    assert HOOK.COMMANDS_MARKER in page("reference/commands.md")
    assert HOOK.HOOKS_MARKER in page("reference/hooks.md")
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    assert "docs/hooks/reference.py" in config["hooks"]


def test_every_hook_is_in_the_generated_hooks_page():
    specs = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("sweep_")]
    assert "sweep_register_parsers" in specs
    md = HOOK.render_hooks()
    for name in specs:
        assert f"## `{name}`" in md, name
        assert HOOK.rst_to_md(inspect.getdoc(getattr(hookspecs, name))) in md, name
    for proto in ("ParserRegister", "DemoRegister", "LoggerRegister"):
        assert f"### `{proto}`" in md
    assert "``" not in md.replace("```", "")  # every reST literal became Markdown


def test_every_hookspec_has_a_docstring_and_prefix():
    for name in HOOK.hook_names(hookspecs):
        assert name.startswith("sweep_")
        assert len(inspect.getdoc(getattr(hookspecs, name)) or "") > 80, f"{name} needs a real docstring"


def test_every_environment_variable_the_code_reads_is_documented():
    names = set()
    for path in list((ROOT / "mlflow_sweep_plugin").rglob("*.py")):
        names |= set(re.findall(r"\bMLFLOW_SWEEP_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    assert "MLFLOW_SWEEP_CACHE_DIR" in names
    text = page("reference/environment.md")
    missing = sorted(n for n in names if f"`{n}" not in text)
    assert not missing, f"not in docs/reference/environment.md: {missing}"


def test_every_backend_and_callback_key_is_documented():
    from mlflow_sweep_plugin.hydra import MLflowSweepCallback
    from mlflow_sweep_plugin.backend.config import KNOWN_KEYS

    text = page("reference/sweep-config.md")
    backend = text.split("| backend config key |", 1)[1].split("\n\n", 1)[0]
    assert not [k for k in KNOWN_KEYS if f"| `{k}` |" not in backend]
    callback = text.split("| callback key |", 1)[1].split("\n\n", 1)[0]
    params = [p for p in inspect.signature(MLflowSweepCallback.__init__).parameters if p != "self"]
    assert not [p for p in params if f"`{p}`" not in callback]


def test_every_exit_code_is_documented():
    text = page("reference/exit-codes.md")
    for code in re.findall(r"^\s+(\d+)\s+\S", main.get_command(click.Context(main), "export").epilog, re.M):
        assert f"| {code} |" in text, code


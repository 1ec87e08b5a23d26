"""``mlflow-sweep plugins``: the installed plugins, their parsers, demos and loggers."""

from __future__ import annotations

import json

import click

from ..console import echo, printing_warnings

@click.command("plugins", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(as_json):
    """List installed plugins, their versions, parsers and patterns."""
    from ..plugins import get_plugin_manager

    with printing_warnings():
        entries = get_plugin_manager().describe()
    if as_json:
        echo(json.dumps(entries, indent=2))
        return
    if not entries:
        echo("No mlflow-sweep plugins installed.")
        return
    for entry in entries:
        version = f" {entry['version']}" if entry["version"] else ""
        echo(f"{entry['name']}{version}" + (f"  [{entry['module']}]" if entry["module"] else ""))
        if entry["error"]:
            echo(f"  failed to load: {entry['error']}")
        for p in entry["parsers"]:
            desc = f"  - {p['description']}" if p["description"] else ""
            echo(f"  parser {p['name']} (v{p['version']}): {p['pattern']}{desc}")
        for d in entry["demos"]:
            echo(f"  demo {d}")
        for name in entry.get("loggers", ()):
            echo(f"  result logger {name}")

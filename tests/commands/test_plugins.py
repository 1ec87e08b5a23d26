"""mlflow_sweep_plugin.commands.plugins: ``mlflow-sweep plugins`` lists what is installed
(as text and as JSON), the same as the plugin manager describes it."""

from __future__ import annotations

import json

from mlflow_sweep_plugin.commands.plugins import plugins_command
from mlflow_sweep_plugin.plugins import get_plugin_manager, reset_plugin_manager


def test_json_is_what_the_plugin_manager_describes(sweep_cli):
    entries = json.loads(sweep_cli("plugins", "--json").assert_success().stdout)
    reset_plugin_manager()
    assert entries == json.loads(json.dumps(get_plugin_manager().describe()))
    reset_plugin_manager()


def test_text_lists_each_plugin_and_its_parsers(sweep_cli):
    text = sweep_cli("plugins").assert_success().stdout
    entries = json.loads(sweep_cli("plugins", "--json").stdout)
    if not entries:
        assert text.strip() == "No mlflow-sweep plugins installed."
        return
    for entry in entries:
        assert text.count(f"\n{entry['name']}") + text.startswith(entry["name"]) == 1
        for parser in entry["parsers"]:
            assert f"  parser {parser['name']} (v{parser['version']}): {parser['pattern']}" in text
        for demo in entry["demos"]:
            assert f"  demo {demo}" in text
    assert plugins_command.name == "plugins"

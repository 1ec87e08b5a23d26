"""mlflow_sweep_plugin.export.progress: a bar only when asked; messages always reach stderr."""

from __future__ import annotations

from mlflow_sweep_plugin.export.progress import ExportProgress, stderr_is_terminal


def test_disabled_it_draws_nothing_and_echoes_plain_lines(capsys):
    with ExportProgress(enabled=False) as progress:
        progress.found(10, last=True)
        progress(3)
        progress.echo("mlflow-sweep: warning: run r1: bad")
    assert capsys.readouterr() == ("", "mlflow-sweep: warning: run r1: bad\n")


def test_enabled_it_tracks_the_total_and_keeps_messages(capsys):
    with ExportProgress(enabled=True, description="reading") as progress:
        task = progress._progress.tasks[0]
        assert task.description == "reading" and task.total is None
        progress.found(4, last=False)
        progress(2)
        assert (task.total, task.completed) == (4, 2)
        progress(6)  # more done than found so far: the total follows
        assert (task.total, task.completed) == (6, 6)
        progress.echo("a [b] message")
    assert progress._progress is None
    assert "a [b] message" in capsys.readouterr().err  # no markup swallowed


def test_stderr_is_not_a_terminal_under_capture(capsys):
    assert stderr_is_terminal() is False

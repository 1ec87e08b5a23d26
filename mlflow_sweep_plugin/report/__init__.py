"""Sweep reports: seed-aware summaries, best configurations, plots, an HTML report.

Stages, one module each:

- reading the runs: :mod:`.source` (the export's table, the parsers' captures and
  declared roles, the sweep's grids), :mod:`.columns` (what each column of the table is),
  :mod:`.rows` (which rows count, ``runs.csv``'s frame), :mod:`.grouping` (what is grouped
  by, averaged over and summarised);
- the numbers: :mod:`.stats` (:func:`summarize`), :mod:`.best` (ranking) and
  :mod:`.bestset` (the tied set), :mod:`.race` (a racing sweep's rounds);
- the pictures: :mod:`.select` (which plots), :mod:`.levels` (level order and axes),
  :mod:`.plots`, :mod:`.curves` (learning curves), :mod:`.matrix` (the configuration x
  seed run matrix);
- the files: :mod:`.options` (the report's options and their checks), :mod:`.paper`
  (summary.md / summary.tex), :mod:`.page` (report.html's content), :mod:`.html` (its
  template), :mod:`.manifest` (report.json), :mod:`.output` (the staged, atomic output
  directory), :mod:`.build` (the report directory);
- on a run: :mod:`.parent` (logging a report onto a sweep's parent) and :mod:`.detached`
  (doing so from a process of its own after the sweep).

The ``mlflow-sweep report`` command is :mod:`mlflow_sweep_plugin.commands.report`. The
public names (``summarize``, ``rank``, ``build_report``, ``report_parent``...) are
``mlflow_sweep_plugin``'s; this package imports nothing itself, so the CLI can load its
command cheaply.
"""

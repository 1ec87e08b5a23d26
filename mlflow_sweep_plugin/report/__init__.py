"""Sweep reports: seed-aware summaries, best configurations, plots, an HTML report.

Stages, one module each: :mod:`.columns` (what each column of the export table is),
:mod:`.stats` (:func:`summarize`), :mod:`.best` (ranking and the tied set),
:mod:`.plots`, :mod:`.paper`
(summary.md / summary.tex), :mod:`.html` (report.html), :mod:`.build` (the report
directory), :mod:`.parent` (logging a report onto a run) and :mod:`.command` (the
``mlflow-sweep report`` command). The public names (``summarize``, ``rank``,
``build_report``, ``report_parent``...) are ``mlflow_sweep_plugin``'s; this package
imports nothing itself, so the CLI can load its command cheaply.
"""

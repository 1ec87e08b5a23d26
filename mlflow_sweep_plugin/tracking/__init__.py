"""The logging API research code calls (re-exported by :mod:`mlflow_sweep_plugin`).

- :mod:`.run`: ``sweep_run``, a run that outlives the tracking server (:mod:`.spool` holds
  what it logged offline, :mod:`.sync` replays it, within what :mod:`.spool_checks` allows;
  whether the server is there is :mod:`mlflow_sweep_plugin.failures`' probe);
- :mod:`.sink`: where a logging call goes (a store, or a ``sweep_run``);
- :mod:`.params` (a config as params, using :mod:`.flatten`, :mod:`.keys` and :mod:`.redact`),
  :mod:`.metrics`, :mod:`.artifacts`: what is logged;
- :mod:`.flatten_artifacts`: artifacts -> metrics through the export's parsers;
- :mod:`.results`: plugins' result loggers; :mod:`.bound`: the API bound to one run;
- :mod:`.cli_args`: the MLflow options of a research script's ``argparse``.
"""

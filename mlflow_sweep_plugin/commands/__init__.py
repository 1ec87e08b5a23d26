"""The ``mlflow-sweep`` commands, one module each; :mod:`.options` holds the options
several share. The group that gathers them is :mod:`mlflow_sweep_plugin.cli`."""

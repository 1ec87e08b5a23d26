"""``python -m mlflow_sweep_plugin`` is the ``mlflow-sweep`` command."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="mlflow-sweep")

"""What MLflow itself loads: the run context provider entry point (:mod:`.context`, on
every ``import mlflow``) and the import hook that adds ``sweep-export`` to the ``mlflow``
command (:mod:`.mlflow_cli`). Both import no command and nothing heavy."""

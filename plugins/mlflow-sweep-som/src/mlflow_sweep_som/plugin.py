"""Hook implementations: what this plugin registers with mlflow-sweep."""

from mlflow_sweep_plugin.hookspecs import DemoRegister, LoggerRegister, ParserRegister, hookimpl

from .results import DATA_FIELDS, PARSER_VERSION, PATTERN, TRAINING_FIELDS, parse_som_results


@hookimpl
def sweep_register_parsers(register: ParserRegister) -> None:
    register(
        "som_results",
        PATTERN,
        parse_som_results,
        version=PARSER_VERSION,
        loader="json",
        description="self-organizing map: one row per run (errors, cluster and data stats, config)",
        # the map's quality is summarised; the data set's statistics describe the input
        outcomes=TRAINING_FIELDS + ("cluster_size_variance",), descriptors=DATA_FIELDS,
    )


@hookimpl
def sweep_register_demos(register: DemoRegister) -> None:
    from .demo import log_demo_sweep

    register("som", log_demo_sweep,
             description="a SOM sweep on scikit-learn's digits: grid sizes, sigma, learning rate")


@hookimpl
def sweep_register_loggers(register: LoggerRegister) -> None:
    from .tracking import log_som_result

    register("som", log_som_result,
             description="a trained MiniSom: log_result('som', som, data=X, config=cfg)")

"""Hook implementations: what this plugin registers with mlflow-sweep."""

from mlflow_sweep_plugin.hookspecs import DemoRegister, LoggerRegister, ParserRegister, hookimpl

from . import results


@hookimpl
def sweep_register_parsers(register: ParserRegister) -> None:
    register(
        "causal_metrics",
        results.METRICS_PATTERN,
        results.parse_metrics,
        version=results.PARSER_VERSION,
        loader="yaml",
        description="causal discovery: one row per learner (reported and recomputed eshd/auroc)",
        keys=("learner",), outcomes=results.REPORTED + results.COMPUTED,
    )
    register(
        "causal_particles",
        results.PARTICLES_PATTERN,
        results.parse_particles,
        version=results.PARSER_VERSION,
        loader="npz",
        description="causal discovery: checks particles; rows for learners metrics.yaml lacks",
        keys=("learner",), outcomes=results.COMPUTED,
    )
    register(
        "causal_ground_truth",
        results.GROUND_TRUTH_PATTERN,
        results.parse_ground_truth,
        version=results.PARSER_VERSION,
        loader="yaml",
        description="causal discovery: checks ground_truth.yaml (yields no rows itself)",
    )


@hookimpl
def sweep_register_demos(register: DemoRegister) -> None:
    from .demo import log_demo_sweep

    register("causal", log_demo_sweep,
             description="a causal-discovery sweep: SVGD and Ensemble learners on random DAGs")


@hookimpl
def sweep_register_loggers(register: LoggerRegister) -> None:
    from .tracking import log_causal_result

    register("causal", log_causal_result,
             description="a causal-discovery results directory: learner-prefixed metrics, no plots")

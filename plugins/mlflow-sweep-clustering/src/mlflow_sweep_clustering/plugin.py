"""Hook implementations: what this plugin registers with mlflow-sweep."""

from mlflow_sweep_plugin.hookspecs import DemoRegister, LoggerRegister, ParserRegister, hookimpl

from . import hamming_summary
from .cluster_summary import PATTERN, PARSER_VERSION, parse_cluster_summary


@hookimpl
def sweep_register_parsers(register: ParserRegister) -> None:
    register(
        "cluster_summary",
        PATTERN,
        parse_cluster_summary,
        version=PARSER_VERSION,
        loader="json",
        description="SAE clustering summary: one row per layer per run",
        keys=("layer",),
    )
    register(
        "hamming_summary",
        hamming_summary.PATTERN,
        hamming_summary.parse_metrics_summary,
        version=hamming_summary.PARSER_VERSION,
        loader="json",
        description="multi-seed Hamming k-means analysis: one row per (seed, k) execution",
        keys=hamming_summary.KEYS, seed="seed", outcomes=hamming_summary.OUTCOMES,
        descriptors=hamming_summary.DESCRIPTORS,
    )


@hookimpl
def sweep_register_demos(register: DemoRegister) -> None:
    from .sae_demo import REPORT, log_sae_sweep

    register("sae", log_sae_sweep, report=REPORT,
             description="a seeded SAE training sweep: per-epoch val_loss, a best configuration and its set")
    from .demo import log_demo_sweep

    register("clustering", log_demo_sweep,
             description="an SAE clustering sweep: 4 layers, soft and refined assignments")
    from .hamming_demo import log_hamming_sweep

    register("hamming", log_hamming_sweep,
             description="Hamming k-means of pruned-weight masks: seeds x k, wanda and sparsegpt")


@hookimpl
def sweep_register_loggers(register: LoggerRegister) -> None:
    from .hamming_tracking import log_hamming_result

    register("hamming", log_hamming_result,
             description="a metrics_summary.json document: config params, per-(seed, k) metrics")

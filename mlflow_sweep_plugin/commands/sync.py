"""``mlflow-sweep sync`` (added to the group by ``cli.py``).

Cheap to import: click only; the work is imported inside the commands.
"""

from __future__ import annotations

import click

from ..console import eprint, printing_warnings, sweep_errors

_CTX = {"help_option_names": ["-h", "--help"]}


@click.command("sync", context_settings=_CTX)
@click.argument("spool_ids", nargs=-1, metavar="[SPOOL_ID]...")
@click.option("--spool-dir", default=None, metavar="DIR",
              help="Default: $MLFLOW_SWEEP_SPOOL_DIR, else ./.mlflow-sweep/spool.")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Replay into this store (default: the one each run was logged for).")
def sync_command(spool_ids, spool_dir, tracking_uri):
    """Replay runs spooled while the tracking store was unreachable.

    Exactly once: running it again, or after a sync died half-way, creates no second
    run, param or metric point. Replayed spools move to <spool dir>/.synced/; a
    spool whose job is still running is replayed as far as it goes and kept.
    A spool only completes the run it started (its experiment, identity and a run
    still RUNNING) and uploads only files inside its own artifacts/ directory.
    Exit code 1 if a spool could not be replayed (its run named; nothing written to
    it), 3 if the store is unreachable.
    """
    import sys

    from ..tracking.spool import spool_root
    from ..tracking.sync import sync_spool

    with sweep_errors(), printing_warnings():
        results = sync_spool(spool_dir, tracking_uri, spool_ids)
    failed = [r for r in results if r.status == "failed"]
    for r in results:
        eprint(f"mlflow-sweep: {r}")
    eprint(f"mlflow-sweep: sync: {sum(r.status == 'synced' for r in results)} synced, "
           f"{sum(r.status == 'open' for r in results)} still open, {len(failed)} failed "
           f"({len(results)} spools in {spool_root(spool_dir)})")
    if failed:
        sys.exit(1)

"""What every sweep shares, however it is launched (``mlflow run --backend sweep``, the
Hydra callback, ``import-hydra``): its identity (:mod:`.identity`), the store queries
that find its runs (:mod:`.query`), how a run's end is recorded (:mod:`.outcome`, reading
log tails with :mod:`.tails`), the sweep table on the parent (:mod:`.table`) and the one
lifecycle that opens the parent, creates and supersedes children and closes the parent
(:mod:`.lifecycle`); what submitit recorded about how a job ended (:mod:`.submitit_records`);
the sweep as its parent stores it (:mod:`.stored_spec`) and what ``mlflow-sweep status`` knows
of it (:mod:`.status`)."""

"""The search engine of a sweep (docs/how-to/search.md): the config's search keys
(:mod:`.spec`), its space (:mod:`.space`), Optuna's samplers and pruners
(:mod:`.strategies`, :mod:`.pruning`), objectives (:mod:`.objective`), seeds
(:mod:`.seeds`), the study rebuilt from the store (:mod:`.study`) and the engine that ties
them, independent of how runs are launched (:mod:`.engine`); what the parent shows of
the search (:mod:`.progress`) and the one controller per sweep (:mod:`.controller`);
racing over seeds (:mod:`.race`, its ``race`` and ``confirm`` keys in :mod:`.race_spec`); what
every sweep loop writes about each run (:mod:`.bookkeeping`)."""

"""What a report groups by, averages over and summarises (``by``, ``over``, ``metrics``).

``over`` defaults to the declared seed, else the one seed-like column (``seed``,
``random_seed``, ``*.seed``, ``seed_*``; several distinct ones: none, with a warning).
``by`` defaults to ``experiment_name`` when there are several, the params that vary
(minus ``over`` and any column equal to it row by row, such as a Hydra job's
``config.seed``), plus the pattern captures and record keys that vary; of factors that
are relabellings of each other one is kept (:func:`drop_aliases`). ``metrics`` defaults
to every numeric column that is not a param, capture, record key, descriptor or run field.
"""

from __future__ import annotations

from ..errors import UsageError
from ..tags import CONFIG_PREFIX
from .columns import is_numeric_factor, is_seed_name


def _same_column(a, b) -> bool:
    """The two columns hold the same values row by row (as text)."""
    return bool((a.astype(str).to_numpy() == b.astype(str).to_numpy()).all())


def _bijective(df, a: str, b: str) -> bool:
    """``a`` and ``b`` partition the rows identically (one is a relabelling of the other)."""
    n_a = df[a].nunique(dropna=False)
    return n_a == df[b].nunique(dropna=False) == df.groupby([a, b], dropna=False).ngroups


def is_config_copy(column: str) -> bool:
    """A param the Hydra callback copied from a job's composed config (``config.<key>``)."""
    name = column[len("params."):] if column.startswith("params.") else column
    return name.startswith(CONFIG_PREFIX + ".")


def drop_aliases(df, factors: list) -> tuple[list, dict]:
    """Keep one of each set of factors that are relabellings of each other (one that is not
    a copy of a Hydra job's composed config, then a numeric one, then the shortest name,
    then the first): ``x_dim`` for ``x_dim``, ``y_dim`` and ``params.som_grid_size``
    (``5x5``); the override ``db`` for ``config.db.penalty``."""
    kept: list = []
    aliases: dict = {}
    numeric = {c: is_numeric_factor(df[c].dropna().unique()) for c in factors}
    for c in sorted(factors, key=lambda c: (is_config_copy(c), not numeric[c], len(c), factors.index(c))):
        twin = next((k for k in kept if _bijective(df, k, c)), None)
        if twin is None:
            kept.append(c)
        else:
            aliases.setdefault(twin, []).append(c)
    return [c for c in factors if c in kept], aliases


def choose_over(df, roles, over, note):
    """The column averaged away (``None``: none); see the module docstring."""
    if over is None and roles.seed is not None:
        return roles.seed
    if over is None:
        seeds = [c for c in roles.params + roles.captures + roles.keys if is_seed_name(c)]
        distinct: list = []
        for c in sorted(seeds, key=len):
            if not any(_same_column(df[c], df[d]) for d in distinct):
                distinct.append(c)
        if len(distinct) == 1:
            return distinct[0]
        if len(distinct) > 1:
            note(f"several seed-like columns ({', '.join(distinct)}): nothing is averaged over "
                 f"seeds; give --over NAME")
        return None
    if over is False or over == "":
        return None
    return over


def choose_by(df, roles, over, by):
    """``(by, aliases)``; see the module docstring. ``over`` in ``by`` is a usage error."""
    if by is not None:
        by = list(by)
        if over in by:
            raise UsageError(f"{over!r} is both a --by column and the --over column")
        return by, {}
    def seed_copy(c) -> bool:  # the seed under another name (config.seed for seed): not a factor
        return over is not None and over in df.columns and _same_column(df[c], df[over])

    varied = [p for p in roles.params if p != over and df[p].nunique(dropna=False) > 1 and not seed_copy(p)]
    if "experiment_name" in df.columns and df["experiment_name"].nunique(dropna=False) > 1:
        varied.insert(0, "experiment_name")  # a report over several experiments compares them
    factors = varied + [c for c in roles.captures + roles.keys if c != over and c not in varied
                        and df[c].nunique(dropna=False) > 1 and not seed_copy(c)]
    return drop_aliases(df, factors) if len(df) else (factors, {})


def choose_metrics(roles, by, over, metrics):
    """The metrics summarised; a grouping column named as one is a usage error."""
    if metrics is None:
        return [m for m in roles.metrics if m not in by and m != over and m not in roles.descriptors]
    metrics = list(metrics)
    for m in metrics:
        if m in by or m == over:
            raise UsageError(f"{m!r} is a grouping column, not a metric")
    return metrics

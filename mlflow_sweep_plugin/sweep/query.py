"""Finding a sweep's runs in the tracking store (tag searches, every page)."""

from __future__ import annotations


def client_uri(client) -> str | None:
    """The tracking URI an ``MlflowClient`` talks to (MLflow 2.x and 3.x)."""
    uri = getattr(client, "tracking_uri", None)
    if uri is None:
        uri = getattr(getattr(client, "_tracking_client", None), "tracking_uri", None)
    return uri


def quote(value: str) -> str:
    """A string literal for an MLflow search filter. MLflow's filter grammar has no escape
    inside a literal, so a value holding both quote characters cannot be searched for:
    ``ValueError`` (the backend refuses such a sweep name when it checks its config)."""
    value = str(value)
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"cannot search for a value holding both quote characters: {value!r}")


def tag_filter(tags: dict) -> str:
    return " and ".join(f"tags.`{k}` = {quote(v)}" for k, v in tags.items())


def find_runs(client, experiment_id: str, tags: dict) -> list:
    """Active runs of the experiment carrying all of ``tags`` (every page), oldest first."""
    out, token = [], None
    while True:
        page = client.search_runs([str(experiment_id)], filter_string=tag_filter(tags),
                                  max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        out.extend(page)
        token = page.token
        if not token:
            return out


def without_runs(df, run_ids):
    """The table without the rows of ``run_ids`` (a sweep's parent, superseded retries)."""
    if len(df) and "run_id" in df.columns:
        return df[~df["run_id"].isin(set(run_ids))].reset_index(drop=True)
    return df

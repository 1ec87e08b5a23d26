"""Which directories of a run the parser patterns can reach, so listings stay small.

Why: a run's artifact tree may hold checkpoints, plots and models nobody parses;
locally every directory walked is a ``scandir``, remotely it is one HTTP request. The
plan is built once per export from the selected parsers' patterns and asked, run after
run, where to start (``roots``), what to prune (``may_contain``), which files a pattern
names literally (``literal_files``) and whether a path matches at all.
"""

from __future__ import annotations

from ..parsers.base import compiled_pattern
from ..parsers.pattern import ArtifactPattern


def _unbounded(segment: str) -> bool:
    return "**" in segment or ":path}" in segment


def _has_token(segment: str) -> bool:
    return "*" in segment or "{" in segment


class ListingPlan:
    """Which directories the parser patterns can match, so listings stay small.

    ``roots()`` gives where to start; ``may_contain(dir)`` prunes every directory no
    pattern can reach (``checkpoints/``, ``plots/``...), which matters most remotely,
    where each directory listed is one request.
    """

    def __init__(self, patterns):
        self.patterns = [p if isinstance(p, ArtifactPattern) else compiled_pattern(p) for p in patterns]
        self._roots: list | None = None
        # answers per path: a sweep's runs share their layout, so these repeat run after run
        self._contain_memo: dict[str, bool] = {}
        self._match_memo: dict[str, bool] = {}
        self._literal_memo: dict[str, tuple | None] = {}
        self._segments = []
        for pat in self.patterns:
            segs = pat.pattern.split("/")
            cut = next((i for i, s in enumerate(segs) if _unbounded(s)), None)
            fixed = segs if cut is None else segs[:cut]
            regexes = [compiled_pattern(s).regex for s in fixed]
            self._segments.append((regexes, cut, len(segs)))

    def roots(self) -> list[tuple[str, int | None]]:
        """(directory, max remaining depth) pairs to list; depth None means unbounded."""
        if self._roots is None:
            self._roots = self._compute_roots()
        return list(self._roots)

    def _compute_roots(self) -> list[tuple[str, int | None]]:
        out: dict[str, int | None] = {}
        for pat in self.patterns:
            prefix = pat.fixed_prefix
            depth = pat.depth
            remaining = None if depth is None else depth - (prefix.count("/") + 1 if prefix else 0)
            if prefix in out:
                old = out[prefix]
                out[prefix] = None if old is None or remaining is None else max(old, remaining)
            else:
                out[prefix] = remaining
        # drop roots nested in an ancestor root that already covers them
        keep: dict[str, int | None] = {}
        for root, depth in sorted(out.items(), key=lambda kv: (kv[0].count("/") if kv[0] else -1, kv[0])):
            covered = False
            for r, d in keep.items():
                if r == "" or root.startswith(r + "/"):
                    extra = (root.count("/") + 1) - (r.count("/") + 1 if r else 0)
                    if d is None or (depth is not None and extra + depth <= d):
                        covered = True
                        break
            if not covered:
                keep[root] = depth
        return sorted(keep.items())

    def matches_any(self, path: str) -> bool:
        return _remember(self._match_memo, path, lambda p: any(pat.regex.fullmatch(p) for pat in self.patterns))

    def literal_files(self, directory: str) -> list[str] | None:
        """The files under ``directory`` the patterns can match, when every pattern that
        reaches it continues with literal names only (``layer_0`` for
        ``layer_{layer}/cluster_summary.json`` -> ``layer_0/cluster_summary.json``), so
        they can be fetched without listing the directory; else None."""
        found = _remember(self._literal_memo, directory, self._literal_files)
        return None if found is None else list(found)

    def _literal_files(self, directory: str) -> tuple | None:
        parts = directory.split("/") if directory else []
        k = len(parts)
        out = []
        for pat, (regexes, cut, n_segments) in zip(self.patterns, self._segments):
            if cut is not None and cut <= k:
                return None  # an unbounded pattern reaches in here
            if k >= n_segments:
                continue
            if not all(rx.fullmatch(part) for rx, part in zip(regexes, parts)):
                continue
            rest = pat.pattern.split("/")[k:]
            if cut is not None or any(_has_token(seg) for seg in rest):
                return None
            out.append("/".join(parts + rest))
        return tuple(sorted(set(out)))

    def may_contain(self, directory: str) -> bool:
        """Whether a file under ``directory`` (relative, no trailing slash) can match."""
        if not directory:
            return True
        return _remember(self._contain_memo, directory, self._may_contain)

    def _may_contain(self, directory: str) -> bool:
        parts = directory.split("/")
        k = len(parts)
        for regexes, cut, n_segments in self._segments:
            if cut is None and k >= n_segments:
                continue
            check = parts if cut is None else parts[:cut]
            if all(rx.fullmatch(part) for rx, part in zip(regexes, check)):
                return True
        return False


_MEMO_LIMIT = 100_000
_MISSING = object()


def _remember(memo: dict, key: str, compute):
    """``compute(key)``, remembered in ``memo`` (up to :data:`_MEMO_LIMIT` keys)."""
    value = memo.get(key, _MISSING)
    if value is _MISSING:
        value = compute(key)
        if len(memo) < _MEMO_LIMIT:
            memo[key] = value
    return value

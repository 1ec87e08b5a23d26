"""Builders for causal-discovery run artifacts (the examples and broken variants),
shared by this plugin's tests through the ``cdata`` fixture."""

from __future__ import annotations

import io
import pathlib
import pickle

import numpy as np
import pytest

DATA = pathlib.Path(__file__).parent / "data" / "causal_run"


def example(name: str) -> bytes:
    return (DATA / name).read_bytes()


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


class _Tripwire:
    """Unpickling this writes a file: proof that somebody opened a pickle."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (pathlib.Path(self.target).write_text, ("unpickled!",))


def tripwire_pickle(target: pathlib.Path) -> bytes:
    return pickle.dumps(_Tripwire(str(target)))


def pickled_npz(target: pathlib.Path) -> bytes:
    """An .npz whose 'graphs' is an object array: loading it would unpickle."""
    obj = np.empty(1, dtype=object)
    obj[0] = _Tripwire(str(target))
    buf = io.BytesIO()
    np.savez(buf, graphs=obj)
    return buf.getvalue()


def example_run() -> dict:
    """Artifacts of the format's example run, with the files the team also logs."""
    return {
        "metrics.yaml": example("metrics.yaml"),
        "ground_truth.yaml": example("ground_truth.yaml"),
        "SVGD/particles.npz": example("SVGD/particles.npz"),
        "Ensemble/particles.npz": example("Ensemble/particles.npz"),
    }


@pytest.fixture
def cdata():
    """The builders above, as one namespace."""
    import types

    return types.SimpleNamespace(example=example, example_run=example_run, npz_bytes=npz_bytes,
                                 pickled_npz=pickled_npz, tripwire_pickle=tripwire_pickle)

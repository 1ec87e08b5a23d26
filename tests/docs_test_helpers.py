"""Shared by the documentation tests: the site's paths and its MkDocs hook, loaded as
MkDocs loads it (a file, not a package)."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def page(rel: str) -> str:
    return (DOCS / rel).read_text(encoding="utf-8")


def load_hook():
    spec = importlib.util.spec_from_file_location("docs_reference_hook", DOCS / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

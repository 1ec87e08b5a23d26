"""A package's docstring is its map: it names each of its modules (checked per package,
in the package's test folder)."""

from __future__ import annotations

import pkgutil
import re


def modules_missing_from_docstring(package) -> list[str]:
    """The modules of ``package`` its docstring does not name (as ``.name``, ``name.py``
    or the bare word)."""
    doc = package.__doc__ or ""
    return [info.name for info in pkgutil.iter_modules(package.__path__)
            if info.name != "__main__" and not re.search(rf"(?<![\w]){re.escape(info.name)}(?![\w])", doc)]

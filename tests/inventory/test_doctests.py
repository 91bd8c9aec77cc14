"""Run the docstring examples of the import helpers (format detection, code prefixes)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "landmatch.inventory.codes",
        "landmatch.inventory.formats",
        "landmatch.inventory.land_use",
        "landmatch.numbers",
        "landmatch.match.control",
        "landmatch.inventory.min_price",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

"""Run the docstring examples of the geo package as tests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import landmatch.geo

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(landmatch.geo.__path__, prefix="landmatch.geo.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

"""The package's own files, found through :mod:`importlib.resources` so that an installed wheel
(``pip install .``) works like a checkout.

In a checkout ``landmatch/web/static``, ``landmatch/web/templates`` and ``landmatch/data/layers``
are symbolic links to ``web/static``, ``web/templates`` and ``layers/`` at the top of the
repository; a wheel holds copies (``[tool.setuptools.package-data]`` in pyproject.toml). The npm
packages (``web/node_modules``) are not part of the package: ``LANDMATCH_WEB_ASSETS_DIR`` says
where they are when the app does not run from a checkout.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path


def package_path(*parts: str) -> Path:
    """A directory or file of the installed package, as a filesystem path."""
    return Path(str(resources.files("landmatch").joinpath(*parts)))


def data_rows(name: str) -> list[dict[str, str]]:
    """The rows of the table ``landmatch/data/<name>`` (CSV, UTF-8, a header line)."""
    text = resources.files("landmatch").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


WEB = package_path("web")
TEMPLATES = WEB / "templates"
STATIC_APP = WEB / "static" / "app"
LAYERS = package_path("data", "layers")
# In a checkout, the npm packages sit beside web/static.
CHECKOUT_NODE_MODULES = (WEB / "static").resolve().parent / "node_modules"

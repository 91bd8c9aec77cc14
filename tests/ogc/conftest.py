"""The live server's ``/ogc`` for the real clients (OWSLib, GDAL), reading the committed seed."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def live_url(live_server: str) -> str:
    """Base URL of ``/ogc`` on the session's live server."""
    return f"{live_server}/ogc"

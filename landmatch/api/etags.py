"""The ``ETag`` header of a versioned resource (see :mod:`landmatch.db.locking`)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from landmatch.db.locking import etag


def tagged(response: Response, key: object, body: dict[str, Any]) -> dict[str, Any]:
    """Set the ETag of ``body`` on ``response`` and return ``body``. Views that carry no
    ``version`` (the public ones, which cannot write) get no ETag."""
    if body.get("version") is not None:
        response.headers["ETag"] = etag(key, body["version"])
    return body

"""What every response model shares: extra keys refused, GeoJSON geometries, the problem answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A timestamp sent as the services write it (``datetime.isoformat()``: ``…+08:00`` as the
# database session hands it back, db/engine.SESSION_OPTIONS), not re-written by pydantic
# (``…Z``) where a route's answer goes through its model.
Timestamp = Annotated[dt.datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str)]


class Geometry(Contract):
    """A GeoJSON geometry in CGCS2000 longitude/latitude (EPSG:4490)."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


class Link(Contract):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Problem(BaseModel):
    """Every error answer (RFC 9457), in Chinese: ``landmatch/api/problems.py``."""

    type: str = Field(description="a problem type, e.g. /problems/validation, or about:blank")
    title: str
    status: int
    detail: str
    errors: Any = Field(None, description="per field or per row, where the problem has them")

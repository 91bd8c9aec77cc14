"""The CRSs the OGC API offers (Part 2), their URIs and axis order.

Storage is EPSG:4490. CRS84 and EPSG:4490/4326 differ only in axis order here (PROJ treats
4326 ↔ 4490 as a no-op), so those never go through ST_Transform. Axis order follows the CRS
authority: EPSG:4326/4490 are (lat, lon) and the Gauss–Krüger CRSs are (northing, easting),
so those coordinates are flipped on output and on input.
"""

from __future__ import annotations

from dataclasses import dataclass

from landmatch.errors import InvalidInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
STORAGE_SRID = 4490


@dataclass(frozen=True)
class OgcCrs:
    uri: str
    srid: int  # PostGIS SRID used for the coordinates
    flip: bool  # authority axis order is (north, east)

    @property
    def transform(self) -> bool:
        return self.srid not in (STORAGE_SRID, 4326)

    @property
    def header(self) -> str:
        return f"<{self.uri}>"


_EPSG: dict[int, bool] = {
    4326: True,
    4490: True,
    3857: False,
    4526: True,
    4527: True,
    4528: True,
    4547: True,
    4548: True,
    4549: True,
}
SUPPORTED: dict[str, OgcCrs] = {CRS84: OgcCrs(CRS84, STORAGE_SRID, False)}
for _code, _flip in _EPSG.items():
    _uri = EPSG_URI.format(_code)
    SUPPORTED[_uri] = OgcCrs(_uri, STORAGE_SRID if _code == 4326 else _code, _flip)

DEFAULT = SUPPORTED[CRS84]
STORAGE = SUPPORTED[EPSG_URI.format(STORAGE_SRID)]
WEB_MERCATOR = SUPPORTED[EPSG_URI.format(3857)]
CRS_LIST: list[str] = list(SUPPORTED)


def parse(value: str | None, param: str = "crs") -> OgcCrs:
    """Resolve a ``crs``/``bbox-crs`` value (URI, ``[EPSG:n]`` safe CURIE or ``EPSG:n``)."""
    if value is None or value == "":
        return DEFAULT
    v = value.strip().strip("[]<>")
    if v in SUPPORTED:
        return SUPPORTED[v]
    low = v.lower()
    if low in (
        "crs84",
        "ogc:crs84",
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    ):
        return DEFAULT
    for prefix in ("epsg:", "urn:ogc:def:crs:epsg::", "http://www.opengis.net/def/crs/epsg/0/"):
        if low.startswith(prefix) and low[len(prefix) :].isdigit():
            uri = EPSG_URI.format(int(low[len(prefix) :]))
            if uri in SUPPORTED:
                return SUPPORTED[uri]
    raise InvalidInput(
        f"参数 {param} 不支持的坐标系：{value}；可选：{', '.join(CRS_LIST)}",
        detail=[{"field": param, "reason": "不支持的坐标系"}],
    )

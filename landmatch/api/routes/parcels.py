"""``/api/parcels``: the inventory as GeoJSON."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from landmatch import vocab
from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep, single_values
from landmatch.api.media import GEOJSON, GeoJSONResponse
from landmatch.api.schemas import ParcelCollection, ParcelFeature
from landmatch.api.security import base_url
from landmatch.db.locking import etag
from landmatch.db.parcels import ParcelFilter, get_parcel, list_parcels
from landmatch.errors import InvalidInput
from landmatch.inventory import listing
from landmatch.ogc.service import link_header

router = APIRouter(prefix="/api/parcels", tags=["parcels"])


class ParcelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(
        None, description="Comma-separated statuses: ready, unsupplied, idle, supplied, withdrawn"
    )
    city: str | None = Field(None, pattern=r"^\d{6}$", description="City code (GB/T 2260)")
    zone: str | None = Field(None, max_length=40, description="Development-zone code")
    bbox: str | None = Field(None, description="minLon,minLat,maxLon,maxLat (CGCS2000)")
    limit: int | None = Field(None, ge=1, le=100_000)
    offset: int = Field(0, ge=0, le=10_000_000)

    @field_validator("city")
    @classmethod
    def _city(cls, v: str | None) -> str | None:
        if v is not None and v not in vocab.CITIES:
            raise ValueError(vocab.unknown_city(v))
        return v

    @field_validator("status")
    @classmethod
    def _statuses(cls, v: str | None) -> str | None:
        if v:
            bad = [s for s in v.split(",") if s not in vocab.PARCEL_STATUS]
            if bad:
                raise ValueError(f"未知状态 {','.join(bad)}；可选 {','.join(vocab.PARCEL_STATUS)}")
        return v

    def to_filter(self) -> ParcelFilter:
        """The selection (paged by ``offset``; the caller sets the page size)."""
        return ParcelFilter(
            status=self.status.split(",") if self.status else None,
            city=self.city,
            zone=self.zone,
            bbox=parse_bbox(self.bbox),
            offset=self.offset,
        )


def parse_bbox(v: str | None) -> tuple[float, float, float, float] | None:
    if not v:
        return None
    try:
        parts = tuple(float(x) for x in v.split(","))
    except ValueError:
        raise InvalidInput("bbox 应为 4 个数字：minLon,minLat,maxLon,maxLat") from None
    if len(parts) != 4 or not all(abs(x) < 1e9 for x in parts):
        raise InvalidInput("bbox 应为 4 个数字：minLon,minLat,maxLon,maxLat")
    x0, y0, x1, y1 = parts
    if (
        x0 > x1
        or y0 > y1
        or not (-180 <= x0 <= 180 and -90 <= y0 <= 90 and -180 <= x1 <= 180 and -90 <= y1 <= 90)
    ):
        raise InvalidInput("bbox 范围无效：应为经度 -180..180、纬度 -90..90，且最小值不大于最大值")
    return parts  # type: ignore[return-value]


@router.get(
    "",
    summary="List parcels as a GeoJSON FeatureCollection",
    response_model=ParcelCollection,
    response_class=GeoJSONResponse,
    dependencies=[Depends(single_values)],
)
def parcels(
    q: Annotated[ParcelQuery, Query()],
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> JSONResponse:
    f = q.to_filter()
    f.limit = min(q.limit or settings.default_page_size, settings.max_page_size)
    page = list_parcels(session, f, principal)
    matched = listing.count(session, f, principal)  # exact, counted once per data version
    page["numberMatched"] = matched
    links = _page_links(request, f, page["numberReturned"], matched)
    page["links"] = links
    return JSONResponse(page, media_type=GEOJSON, headers={"Link": link_header(links)})


def _page_links(
    request: Request, f: ParcelFilter, returned: int, matched: int
) -> list[dict[str, str]]:
    """self, next and prev, as the OGC items pages give them (same query, other offset)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    url = base_url(request, request.app.state.settings) + request.url.path

    def href(offset: int) -> str:
        parts = kept + ([("offset", str(offset))] if offset else [])
        return f"{url}?{urlencode(parts)}" if parts else url

    links = [{"href": href(f.offset), "rel": "self", "type": GEOJSON, "title": "本页"}]
    if returned and f.offset + returned < matched:
        links.append(
            {"href": href(f.offset + f.limit), "rel": "next", "type": GEOJSON, "title": "下一页"}
        )
    if f.offset > 0:
        links.append(
            {
                "href": href(max(f.offset - f.limit, 0)),
                "rel": "prev",
                "type": GEOJSON,
                "title": "上一页",
            }
        )
    return links


@router.get(
    "/{code}",
    summary="One parcel as a GeoJSON Feature",
    response_model=ParcelFeature,
    response_class=GeoJSONResponse,
)
def parcel(code: str, session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    feature = get_parcel(session, code, principal)
    version = feature["properties"].get("version")
    headers = {"ETag": etag(code, version)} if version is not None else None
    return JSONResponse(feature, media_type=GEOJSON, headers=headers)

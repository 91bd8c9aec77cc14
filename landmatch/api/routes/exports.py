"""``GET /api/exports/parcels``: the inventory as a file, with the listing's filters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from landmatch.api.deps import JobSessionDep, PrincipalDep, single_values
from landmatch.api.limits import heavy
from landmatch.api.media import files
from landmatch.api.routes.parcels import ParcelQuery
from landmatch.inventory.exports import FORMATS, export_parcels

router = APIRouter(prefix="/api/exports", tags=["exports"])


class ExportQuery(ParcelQuery):
    format: Literal["geojson", "gpkg", "shp", "xlsx", "txt"] = "geojson"
    encoding: Literal["UTF-8", "GBK", "GB18030"] = Field(
        "UTF-8",
        description="Shapefile DBF and 界址点 TXT text encoding (GB18030: GBK's superset, "
        "for text GBK cannot hold; GBK refuses such text, naming the parcels)",
    )
    gk_zone: int | None = Field(
        None, ge=25, le=45, description="TXT: write every parcel in this 3° zone (e.g. 38)"
    )


@router.get(
    "/parcels",
    summary="Export parcels: geojson, gpkg, shp (zip), xlsx (熟地清单), txt (a zip of one TXT per 3° zone when the parcels span several)",
    response_class=Response,
    responses=files(*sorted({media.split(";")[0] for media, _ext in FORMATS.values()})),
    dependencies=[Depends(single_values)],
)
def parcels(
    q: Annotated[ExportQuery, Query()],
    session: JobSessionDep,
    principal: PrincipalDep,
    _slot: Annotated[None, heavy("export")],
) -> Response:
    # limit / offset page through the parcels in code order, as the listing does.
    f = q.to_filter()
    out = export_parcels(session, f, principal, q.format, q.encoding, limit=q.limit, zone=q.gk_zone)
    return Response(
        out.data,
        media_type=out.media_type,
        headers={"Content-Disposition": f'attachment; filename="{out.filename}"'},
    )

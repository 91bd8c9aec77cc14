"""``/ogc``: OGC API – Features (Parts 1–3) and Tiles. Thin: parse → service → response."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.media import documents, files
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc import documents as docs
from landmatch.ogc import html, query, service
from landmatch.ogc.documents import MVT

router = APIRouter(prefix="/ogc", tags=["ogc"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _params(request: Request) -> dict[str, list[str]]:
    qp = request.query_params
    return {k: qp.getlist(k) for k in qp.keys()}  # noqa: SIM118 (MultiDict)


def _respond(request: Request, params: dict[str, list[str]], reply: service.Reply) -> Response:
    headers = {"Content-Crs": reply.crs.header, "Vary": "Accept", **reply.headers}
    if query.output_format(params, request.headers.get("accept")) == "html":
        body = html.render(
            reply.template, reply.title, reply.as_dict(), _base(request), **reply.context
        )
        return HTMLResponse(body, headers=headers)
    return Response(reply.json_text(), media_type=reply.media_type, headers=headers)


@router.get("", summary="Landing page", include_in_schema=False)
@router.get("/", summary="Landing page", response_class=Response, responses=documents(docs.JSON))
def landing(request: Request) -> Response:
    p = _params(request)
    return _respond(request, p, service.landing(_base(request), p))


@router.get(
    "/conformance",
    summary="Conformance classes",
    response_class=Response,
    responses=documents(docs.JSON),
)
def conformance(request: Request) -> Response:
    p = _params(request)
    return _respond(request, p, service.conformance(_base(request), p))


@router.get(
    "/api",
    summary="OpenAPI 3.0 document of the OGC API",
    response_class=Response,
    responses=documents(docs.OPENAPI),
)
def api(request: Request, settings: SettingsDep) -> Response:
    p = _params(request)
    reply = service.api(_base(request), p, settings.default_page_size, settings.max_page_size)
    return _respond(request, p, reply)


@router.get(
    "/collections", summary="Collections", response_class=Response, responses=documents(docs.JSON)
)
def collections(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    p = _params(request)
    return _respond(
        request, p, service.collections(session, _base(request), p, principal.is_public)
    )


@router.get(
    "/collections/{cid}",
    summary="One collection",
    response_class=Response,
    responses=documents(docs.JSON),
)
def collection(
    cid: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    p = _params(request)
    return _respond(
        request, p, service.collection(session, _base(request), cid, p, principal.is_public)
    )


@router.get(
    "/collections/{cid}/queryables",
    summary="Queryables (JSON Schema 2020-12)",
    response_class=Response,
    responses=documents(docs.SCHEMA),
)
def queryables(cid: str, request: Request, principal: PrincipalDep) -> Response:
    p = _params(request)
    return _respond(request, p, service.queryables(_base(request), cid, p, principal.is_public))


@router.get(
    "/collections/{cid}/items",
    summary="Features",
    response_class=Response,
    responses=documents(docs.GEOJSON),
)
def items(
    cid: str, request: Request, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    p = _params(request)
    reply = service.items(
        session,
        _base(request),
        cid,
        p,
        principal.is_public,
        settings.default_page_size,
        settings.max_page_size,
    )
    return _respond(request, p, reply)


@router.get(
    "/collections/{cid}/items/{fid}",
    summary="One feature",
    response_class=Response,
    responses=documents(docs.GEOJSON),
)
def item(
    cid: str, fid: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    p = _params(request)
    return _respond(
        request, p, service.item(session, _base(request), cid, fid, p, principal.is_public)
    )


@router.get(
    "/tileMatrixSets",
    summary="Tile matrix sets",
    response_class=Response,
    responses=documents(docs.JSON),
)
def tile_matrix_sets(request: Request) -> Response:
    p = _params(request)
    return _respond(request, p, service.tile_matrix_sets(_base(request), p))


@router.get(
    "/tileMatrixSets/WebMercatorQuad",
    summary="WebMercatorQuad definition",
    response_class=Response,
    responses=documents(docs.JSON),
)
def web_mercator_quad(request: Request) -> Response:
    p = _params(request)
    return _respond(request, p, service.web_mercator_quad(_base(request), p))


@router.get(
    "/collections/{cid}/tiles",
    summary="Vector tilesets of a collection",
    response_class=Response,
    responses=documents(docs.JSON),
)
def tilesets(cid: str, request: Request, principal: PrincipalDep) -> Response:
    p = _params(request)
    return _respond(request, p, service.tilesets(_base(request), cid, p, principal.is_public))


@router.get(
    "/collections/{cid}/tiles/WebMercatorQuad",
    summary="Vector tileset",
    response_class=Response,
    responses=documents(docs.JSON),
)
def tileset(cid: str, request: Request, principal: PrincipalDep) -> Response:
    p = _params(request)
    return _respond(request, p, service.tileset(_base(request), cid, p, principal.is_public))


@router.get(
    "/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}",
    summary="Vector tile (MVT)",
    response_class=Response,
    responses=files(MVT),
)
def tile(
    cid: str, z: int, y: int, x: int, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    data = service.tile(session, cid, z, y, x, _params(request), principal.is_public)
    headers = {"Content-Crs": ogc_crs.WEB_MERCATOR.header}
    if not principal.is_public:
        headers["Cache-Control"] = "private, no-store"
    return Response(data, media_type=MVT, headers=headers)

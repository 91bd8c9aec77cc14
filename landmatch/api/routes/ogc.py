"""``/ogc``: OGC API – Features (Parts 1–3) and Tiles. Thin: parse → service → response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from landmatch.api.deps import PrincipalDep, SessionDep, SettingsDep
from landmatch.api.media import documents, files
from landmatch.api.security import base_url
from landmatch.ogc import crs as ogc_crs
from landmatch.ogc import documents as docs
from landmatch.ogc import html, query, service
from landmatch.ogc.documents import MVT

router = APIRouter(prefix="/ogc", tags=["ogc"])


def _base(request: Request) -> str:
    return base_url(request, request.app.state.settings) + "/ogc"


Params = dict[str, list[str]]


def _params(request: Request) -> Params:
    qp = request.query_params
    return {k: qp.getlist(k) for k in qp.keys()}  # noqa: SIM118 (MultiDict)


def _respond(request: Request, params: Params, reply: service.Reply) -> Response:
    headers = {"Content-Crs": reply.crs.header, "Vary": "Accept", **reply.headers}
    if query.output_format(params, request.headers.get("accept")) == "html":
        body = html.render(
            reply.template, reply.title, reply.as_dict(), _base(request), **reply.context
        )
        return HTMLResponse(body, headers=headers)
    return Response(reply.json_text(), media_type=reply.media_type, headers=headers)


def _document(path: str, summary: str, media_type: str = docs.JSON) -> Any:
    """The decorator of an OGC API resource: a JSON document of ``media_type`` or its page."""
    return router.get(
        path, summary=summary, response_class=Response, responses=documents(media_type)
    )


def _answer(request: Request, build: Callable[[str, Params], service.Reply]) -> Response:
    """The resource ``build`` makes from the base URL and the query, as asked (JSON or HTML)."""
    p = _params(request)
    return _respond(request, p, build(_base(request), p))


def _fixed(build: Callable[[str, Params], service.Reply]) -> Callable[[Request], Response]:
    """The endpoint of a document that depends on the base URL and the query only."""

    def endpoint(request: Request) -> Response:
        return _answer(request, build)

    return endpoint


router.get("", summary="Landing page", include_in_schema=False, name="landing")(
    _fixed(service.landing)
)
for _path, _summary, _build in (
    ("/", "Landing page", service.landing),
    ("/conformance", "Conformance classes", service.conformance),
    ("/tileMatrixSets", "Tile matrix sets", service.tile_matrix_sets),
    ("/tileMatrixSets/WebMercatorQuad", "WebMercatorQuad definition", service.web_mercator_quad),
):
    router.get(
        _path,
        summary=_summary,
        name=_build.__name__,
        response_class=Response,
        responses=documents(docs.JSON),
    )(_fixed(_build))


@_document("/api", "OpenAPI 3.0 document of the OGC API", docs.OPENAPI)
def api(request: Request, settings: SettingsDep) -> Response:
    return _answer(
        request,
        lambda base, p: service.api(base, p, settings.default_page_size, settings.max_page_size),
    )


@_document("/collections", "Collections")
def collections(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    return _answer(
        request, lambda base, p: service.collections(session, base, p, principal.is_public)
    )


@_document("/collections/{cid}", "One collection")
def collection(
    cid: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    return _answer(
        request, lambda base, p: service.collection(session, base, cid, p, principal.is_public)
    )


@_document("/collections/{cid}/queryables", "Queryables (JSON Schema 2020-12)", docs.SCHEMA)
def queryables(cid: str, request: Request, principal: PrincipalDep) -> Response:
    return _answer(request, lambda base, p: service.queryables(base, cid, p, principal.is_public))


@_document("/collections/{cid}/items", "Features", docs.GEOJSON)
def items(
    cid: str, request: Request, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    return _answer(
        request,
        lambda base, p: service.items(
            session,
            base,
            cid,
            p,
            principal.is_public,
            settings.default_page_size,
            settings.max_page_size,
        ),
    )


@_document("/collections/{cid}/items/{fid}", "One feature", docs.GEOJSON)
def item(
    cid: str, fid: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    return _answer(
        request, lambda base, p: service.item(session, base, cid, fid, p, principal.is_public)
    )


@_document("/collections/{cid}/tiles", "Vector tilesets of a collection")
def tilesets(cid: str, request: Request, principal: PrincipalDep) -> Response:
    return _answer(request, lambda base, p: service.tilesets(base, cid, p, principal.is_public))


@_document("/collections/{cid}/tiles/WebMercatorQuad", "Vector tileset")
def tileset(cid: str, request: Request, principal: PrincipalDep) -> Response:
    return _answer(request, lambda base, p: service.tileset(base, cid, p, principal.is_public))


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

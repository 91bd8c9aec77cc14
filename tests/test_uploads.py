"""Every upload takes one guarded path (issue #13 item 14): each route that takes an
UploadFile refuses an oversized body (413), a zip bomb, a repeated file field and content of
the wrong type; and no parcel, zone or reference feature may carry more vertices than the
configured limit."""

from __future__ import annotations

import io
import json
import typing
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, UploadFile
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.settings import Settings
from tests.conftest import auth, sign_in
from tests.routes import api_routes

BOMB_MB = 30  # zeros: a few kB compressed, far beyond the 100:1 ratio a real file shows


def _bomb(entries: dict[str, bytes | int]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, b"\0" * content if isinstance(content, int) else content)
    return buf.getvalue()


SHP_BOMB = _bomb({"p.shp": BOMB_MB << 20, "p.dbf": b"x", "p.shx": b"x"})
XLSX_BOMB = _bomb(
    {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/sheet1.xml": BOMB_MB << 20}
)


def _upload_routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, file field) of every route with an UploadFile parameter."""
    out = []
    for path, route in api_routes(app):
        hints = typing.get_type_hints(route.endpoint, include_extras=True)
        for name, hint in hints.items():
            base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
            if typing.get_origin(base) is list:  # several files in one field (the import wizard)
                base = typing.get_args(base)[0]
            if base is UploadFile:
                out.append((sorted(route.methods or ())[0], path, name))
    return out


@pytest.fixture
def small_app(settings: Settings, conn: Connection) -> FastAPI:
    """The app with a 1 MB upload cap, on the test's rolled-back transaction."""
    from fastapi import Depends
    from sqlalchemy.orm import sessionmaker

    from landmatch.api.app import create_app
    from landmatch.api.deps import get_job_session, get_session

    application = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    application.state.sessions = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )

    def same_session(session: Session = Depends(get_session)) -> Session:  # noqa: B008
        return session

    application.dependency_overrides[get_job_session] = same_session
    return application


def _url(path: str, session: Any) -> str:
    zone = session.execute(text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")).scalar()
    parcel = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE deleted_at IS NULL ORDER BY code LIMIT 1")
    ).scalar()
    workbench_parcel = path.startswith("/workbench") and not path.startswith("/workbench/zones")
    job = session.execute(
        text(
            "INSERT INTO landmatch.import_job (actor, filename, data) "
            "VALUES ('t-admin', 'a.geojson', '\\x7b7d') RETURNING id"
        )
    ).scalar()
    values = {
        "layer": "constraint_area",
        "code": parcel if workbench_parcel else zone,
        "job_id": job,
    }
    return path.format(**values)  # KeyError: a new upload route needs a value here


def _detail(r: Any) -> str:
    """The refusal's message: problem+json from the API; a workbench page shows it beside the
    file field of the re-rendered form (answered 200, as every workbench form error is)."""
    return (
        str(r.json()["detail"]) if r.headers["content-type"].startswith("application/") else r.text
    )


def test_every_upload_route_is_guarded(
    small_app: FastAPI, session: Session, tokens: dict[str, str], passwords: dict[str, str]
) -> None:
    routes = _upload_routes(small_app)
    assert {p for _, p, _ in routes} >= {
        "/api/imports",
        "/api/policies/import",
        "/api/layers/{layer}/import",
        "/api/zones/{code}/boundary",
        "/workbench/parcels/{code}/boundary/upload",
        "/workbench/parcels/new/upload",
        "/workbench/zones/{code}/boundary/upload",
        "/workbench/policies/import",
        "/workbench/layers/{layer}/import",
        "/workbench/imports",
        "/workbench/imports/{job_id}/files",
    }
    h = auth(tokens["admin"])
    with TestClient(small_app) as client, TestClient(small_app) as page_client:
        csrf = sign_in(page_client, passwords["admin"])
        for method, path, field in routes:
            url = _url(path, session)
            page = path.startswith("/workbench")
            refused = 200 if page else 422

            def send(files: Any, method: str = method, url: str = url, page: bool = page) -> Any:
                if page:  # a workbench page: the session cookie and its CSRF token
                    return page_client.request(method, url, files=files, data={"csrf_token": csrf})
                return client.request(method, url, files=files, headers=h)

            # Far over the cap: refused by Content-Length before the body is parsed.
            r = send({field: ("big.geojson", b"{" + b" " * (3 << 20) + b"}")})
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "上限 1 MB" in r.json()["detail"]
            # Just over the cap: the body passes, the file does not.
            r = send({field: ("big.geojson", b"{" + b" " * (1 << 20) + b"}")})
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            # Zip bombs of each kind: refused by the zip checks or, when the route does not
            # take that kind at all, by the type check; at least one by the bomb check.
            bombs = []
            for name, data in (("p.zip", SHP_BOMB), ("bomb.xlsx", XLSX_BOMB)):
                r = send({field: (name, data)})
                assert r.status_code == refused, (path, name, r.status_code, r.text[:300])
                detail = _detail(r)
                assert "压缩炸弹" in detail or "此处只接受" in detail, (path, detail[:300])
                bombs.append("压缩炸弹" in detail)
            assert any(bombs), path
            # One file per field.
            two = [(field, ("a.geojson", b"{}")), (field, ("b.geojson", b"{}"))]
            r = send(two)
            assert r.status_code == refused and "一个文件" in _detail(r), (path, r.text[:300])


def test_content_must_be_a_kind_the_route_takes(client: TestClient, tokens: dict[str, str]) -> None:
    fc = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    r = client.post(
        "/api/policies/import",
        files={"file": ("policies.xlsx", fc)},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 422 and "此处只接受 Excel" in r.json()["detail"], r.text


def test_file_names_lose_their_directories() -> None:
    from landmatch.inventory.uploads import safe_filename

    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\tmp\\x.zip") == "x.zip"
    assert safe_filename("a\x00b\r\n.geojson") == "ab.geojson"
    assert safe_filename("") == "upload"


def test_cli_reads_take_the_same_checks(tmp_path: Path) -> None:
    from landmatch.errors import FormatError
    from landmatch.inventory.uploads import PARCEL_FILES, read_file

    bomb = tmp_path / "p.zip"
    bomb.write_bytes(SHP_BOMB)
    with pytest.raises(FormatError, match="压缩炸弹"):
        read_file(bomb, PARCEL_FILES, 2048)


# ---- vertex limit --------------------------------------------------------------------------


def _dense_polygon(n: int, lon: float = 114.5, lat: float = 38.05) -> dict[str, Any]:
    """A regular n-gon of about 100 m radius (n + 1 coordinates with the closing one)."""
    import math

    ring = [
        [lon + 0.001 * math.cos(2 * math.pi * i / n), lat + 0.001 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _fc(geom: dict[str, Any], props: dict[str, Any]) -> bytes:
    feature = {"type": "Feature", "properties": props, "geometry": geom}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def test_vertex_limit_in_import_edit_and_layers(
    client: TestClient, session: Session, tokens: dict[str, str], settings: Settings
) -> None:
    limit = settings.max_parcel_vertices
    dense = _dense_polygon(limit + 500)
    h = auth(tokens["admin"])
    # Import: the row is named and nothing is written.
    props = {
        "code": "130100-2099-VTX1",
        "name": "顶点过多",
        "land_use": "100101",
        "status": "ready",
    }
    r = client.post(
        "/api/imports",
        files={"file": ("dense.geojson", _fc(dense, props))},
        data={"city": "130100"},
        headers=h,
    )
    assert r.status_code == 422, r.text
    body = r.text
    assert "顶点" in body and f"{limit:,}" in body and "行" in body
    assert not session.execute(
        text("SELECT 1 FROM landmatch.parcel WHERE code = '130100-2099-VTX1'")
    ).first()
    # Edit: the same rule.
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
            "AND deleted_at IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar()
    etag = client.get(f"/api/parcels/{code}", headers=h).headers["etag"]
    r = client.patch(
        f"/api/parcels/{code}",
        json={"geometry": dense},
        headers={**h, "If-Match": etag},
    )
    assert r.status_code == 422 and "顶点" in r.text, r.text
    # Reference layer (constraint area) and zone boundary: the feature is named.
    layer_props = {
        "code": "VTX-CA-1",
        "name": "顶点过多",
        "kind": "eco_redline",
        "severity": "excludes",
    }
    r = client.post(
        "/api/layers/constraint_area/import",
        files={"file": ("dense.geojson", _fc(dense, layer_props))},
        data={"crs": "EPSG:4490"},
        headers=h,
    )
    assert r.status_code == 422 and "第 1 个要素" in r.text and "顶点" in r.text, r.text
    zone = session.execute(text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")).scalar()
    r = client.put(
        f"/api/zones/{zone}/boundary",
        files={"file": ("dense.geojson", _fc(dense, {}))},
        data={"crs": "EPSG:4490"},
        headers=h,
    )
    assert r.status_code == 422 and "顶点" in r.text, r.text
    # Just under the limit is accepted (dry run).
    ok = client.post(
        "/api/imports",
        files={"file": ("dense.geojson", _fc(_dense_polygon(limit - 10), props))},
        data={"city": "130100", "dry_run": "true"},
        headers=h,
    )
    assert ok.status_code == 200, ok.text

"""No 500s (issue #13 item 15): requests that used to fail inside the server answer a 4xx
problem+json in Chinese, and an error answer leaves the keep-alive connection usable."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from landmatch.settings import Settings
from tests.conftest import _free_port, auth

REQ = {"industry": "36", "area_mu_min": 20, "area_mu_max": 300, "top": 3}


def _problem(r: Any, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body  # in Chinese
    return body  # type: ignore[no-any-return]


def test_match_with_an_unknown_or_out_of_range_project(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    body = _problem(client.post("/api/match", json=REQ | {"project_id": 987654}, headers=h), 422)
    assert "987654" in body["detail"] and body["errors"][0]["field"] == "project_id"
    body = _problem(client.post("/api/match", json=REQ | {"project_id": 2**40}, headers=h), 422)
    assert "project_id" in body["detail"]
    # Out of range in a path or another body: refused before (or by) the database, never a 500.
    _problem(client.get(f"/api/projects/{2**40}", headers=h), 404, 422)
    _problem(
        client.post(
            "/api/reservations", json={"parcel_code": "X-001", "project_id": 2**40}, headers=h
        ),
        422,
    )


def test_tiny_and_huge_numbers(client: TestClient) -> None:
    for max_km in (5e-324, 1e-300, 1e308):
        prox = [{"kind": "port", "max_km": max_km}]
        body = _problem(client.post("/api/match", json=REQ | {"proximity": prox}), 422)
        assert "max_km" in body["detail"]
    _problem(client.post("/api/match", json=REQ | {"investment_wan": 5e-324}), 422)


def test_nul_inside_any_json_body(client: TestClient, tokens: dict[str, str]) -> None:
    h = {**auth(tokens["admin"]), "Content-Type": "application/json"}
    for url, method, body in (
        ("/api/match", "POST", {**REQ, "name": "a\x00b"}),
        ("/api/projects", "POST", {"name": "项目\x00", "requirement": REQ}),
        ("/api/parcels/X-1", "PATCH", {"properties": {"name": ["\x00"]}}),
        ("/api/policies", "POST", {"code": "p", "nested": {"deep": [{"x": "\x00"}]}}),
    ):
        r = client.request(method, url, content=json.dumps(body), headers=h)
        assert "空字符" in _problem(r, 400)["detail"], url
    # The six characters \u0000 (an escaped backslash) are text like any other.
    r = client.post(
        "/api/projects",
        content=json.dumps({"name": "示例\\u0000", "requirement": REQ}),
        headers=h,
    )
    assert r.status_code == 201 and r.json()["name"] == "示例\\u0000", r.text


def test_project_required_fields_cannot_be_nulled(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["promoter"])
    p = client.post("/api/projects", json={"name": "空值测试", "requirement": REQ}, headers=h)
    assert p.status_code == 201, p.text
    url = f"/api/projects/{p.json()['id']}"
    for body in ({"name": None}, {"pipeline_status": None}, {"requirement": None}):
        r = client.patch(url, json=body, headers={**h, "If-Match": p.headers["ETag"]})
        assert "不能清空" in _problem(r, 422)["detail"], body
    ok = client.patch(url, json={"notes": None}, headers={**h, "If-Match": p.headers["ETag"]})
    assert ok.status_code == 200, ok.text


def _deep(n: int) -> bytes:
    return b'{"type":"FeatureCollection","features":' + b"[" * n + b"]" * n + b"}"


def test_deeply_nested_geojson_upload(
    client: TestClient, tokens: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    r = client.post(
        "/api/imports",
        files={"file": ("deep.geojson", _deep(5000))},
        headers=auth(tokens["admin"]),
    )
    assert "嵌套" in _problem(r, 422)["detail"]
    # The same through the command line: a message, not 内部错误.
    f = tmp_path / "deep.geojson"
    f.write_bytes(_deep(5000))
    out = subprocess.run(
        [sys.executable, "-m", "landmatch.cli", "import", str(f), "--dry-run"],
        capture_output=True,
        text=True,
        env={"LANDMATCH_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "嵌套" in out.stderr and "内部错误" not in out.stderr + out.stdout


def test_deeply_nested_json_body(client: TestClient, tokens: dict[str, str]) -> None:
    body = b'{"industry": "36", "location": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = client.post(
        "/api/match",
        content=body,
        headers={**auth(tokens["admin"]), "Content-Type": "application/json"},
    )
    _problem(r, 400, 422)


# --- the connection after an error ------------------------------------------------------


@pytest.fixture(scope="module")
def failing_server(settings: Settings) -> Iterator[tuple[int, list[Any]]]:
    """The real app served by uvicorn, with one extra route that fails as a defect would."""
    import logging

    import uvicorn

    from landmatch.api.app import create_app

    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError("a defect")

    app.add_api_route("/test-boom", boom)
    records: list[Any] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    for name in ("landmatch", "uvicorn.error"):
        logging.getLogger(name).addHandler(handler)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    yield port, records
    server.should_exit = True
    thread.join(10)
    for name in ("landmatch", "uvicorn.error"):
        logging.getLogger(name).removeHandler(handler)


def _exchange(sock: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on an open connection; the whole response (by Content-Length)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_an_error_answer_keeps_the_connection_usable(failing_server: tuple[int, list[Any]]) -> None:
    port, records = failing_server
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        first = _exchange(sock, "/test-boom")
        assert first.startswith(b"HTTP/1.1 500"), first[:200]
        assert b"application/problem+json" in first and b"connection: close" not in first.lower()
        # The same connection answers the next request.
        second = _exchange(sock, "/api/match/schema")
        assert second.startswith(b"HTTP/1.1 200"), second[:200]
    # Through a client too: an erroring request, then a normal one on the same connection.
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as c:
        assert c.get("/test-boom").status_code == 500
        assert c.get("/api/match/schema").status_code == 200
    # A defect is logged with its traceback (once), by landmatch, not re-raised to the server.
    mine = [r for r in records if "/test-boom" in r.getMessage()]
    assert mine and all(r.name == "landmatch" and r.exc_info for r in mine)
    assert not [r for r in records if r.name == "uvicorn.error" and r.exc_info]

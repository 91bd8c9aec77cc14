"""Request bodies are capped by their route before anything reads them (review 2, finding
"one anonymous POST /api/match"): a 35 MB match body used to be parsed whole (11 s, 1 GB) and
answered with a 50 MB error naming every unknown code. Now a route anyone may call has a small
cap of its own, a route that takes no file the JSON cap, an upload route the upload cap; a
requirement's lists are no longer than their vocabularies, and an error names a few unknown
codes and counts the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from landmatch.match.requirements import Requirement
from landmatch.settings import Settings
from tests.conftest import auth

MATCH_CAP = 64 * 1024  # what anyone may send to POST /api/match
ROLES = ("anonymous", "admin", "bureau", "promoter", "zone")


def _headers(role: str, tokens: dict[str, str]) -> dict[str, str]:
    return {} if role == "anonymous" else auth(tokens[role])


def _not_json(n: int) -> bytes:
    """``n`` bytes that are not JSON: a parser would answer 422 (or 400), never 413."""
    return b"{" + b"x" * (n - 1)


def _chunks(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _is_413(r: httpx.Response, cap: str) -> None:
    assert r.status_code == 413, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"上限 {cap}" in r.json()["detail"], r.json()
    # A file over the upload cap is 上传文件过大; any other body 提交内容过大 (review 3).
    upload = r.json()["detail"].startswith("上传文件")
    assert r.json()["title"] == ("上传文件过大" if upload else "提交内容过大"), r.json()
    assert len(r.content) < 1024


@pytest.mark.parametrize("role", ROLES)
def test_an_oversized_match_body_is_refused_unread(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    h = {**_headers(role, tokens), "Content-Type": "application/json"}
    over = MATCH_CAP + 1
    # By its Content-Length: 413 although the body is not JSON (it was never parsed).
    _is_413(client.post("/api/match", content=_not_json(over), headers=h), "64 KB")
    # Sent in chunks without a length: counted as it arrives, 413 (not a 500, not a 422).
    r = client.post("/api/match", content=_chunks(_not_json(over)), headers=h)
    _is_413(r, "64 KB")
    # The reviewer's body, shrunk: 5,000,000 codes would be 35 MB; this is 350 KB.
    big = json.dumps({"area_mu_min": 1, "area_mu_max": 10, "land_uses": ["0601"] * 50_000})
    _is_413(client.post("/api/match", content=big, headers=h), "64 KB")
    # Just under the cap still reaches the model: 422 for too many codes, in a small answer.
    fits = json.dumps({"land_uses": ["0601"] * 8000})
    assert len(fits) < MATCH_CAP
    r = client.post("/api/match", content=fits, headers=h)
    assert r.status_code == 422, r.text[:300]
    assert "land_uses：条目过多" in r.json()["detail"] and len(r.content) < 1024


def test_many_unknown_codes_make_a_short_error(client: TestClient) -> None:
    codes = [f"9{i:03d}" for i in range(16)]  # as many as the vocabulary has, all unknown
    r = client.post("/api/match", json={"land_uses": codes})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "未知用地代码 9000,9001,9002,9003,9004 等 16 个" in detail, detail
    assert "9005" not in r.text and len(r.content) < 1024
    r = client.post("/api/match", json={"land_uses": ["9000", "9001"]})
    assert "未知用地代码 9000,9001）" in r.json()["detail"]  # a few: every one named


def test_every_requirement_list_is_bounded() -> None:
    schema = Requirement.model_json_schema()
    lists = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "array":
                lists.append((where, node.get("maxItems")))
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(schema, "Requirement")
    assert len(lists) >= 6, lists
    assert all(n is not None for _, n in lists), lists


def test_a_search_area_the_model_takes_fits_the_caps(client: TestClient) -> None:
    """Review 3, F6: a requirement's polygon had no size limit, so a project saved through the
    workbench (2 MB) could not be sent back through the API (96 KB) and a staff match of a
    drawn area of 3,000 vertices got 413. The model now takes up to ``POLYGON_MAX_VERTICES``,
    and such a requirement fits the match's and the project's caps (even with spaces after
    separators); one vertex more is refused by the model in words."""
    import math

    from landmatch.match import projects
    from landmatch.match.requirements import MAX_BODY, POLYGON_MAX_VERTICES

    def ring(n: int) -> list[list[float]]:
        pts = [
            [
                round(114.5 + 0.2 * math.cos(2 * math.pi * i / n), 6),
                round(38.0 + 0.2 * math.sin(2 * math.pi * i / n), 6),
            ]
            for i in range(n)
        ]
        return [*pts, pts[0]]

    def requirement(n: int) -> dict[str, object]:
        polygon = {"type": "Polygon", "coordinates": [ring(n)]}
        return {"area_mu_min": 10, "area_mu_max": 500, "location": {"polygon": polygon}}

    largest = requirement(POLYGON_MAX_VERTICES - 1)  # the closing vertex repeats the first
    Requirement.model_validate(largest)
    body = json.dumps(largest, ensure_ascii=False)
    assert len(body.encode()) < MAX_BODY
    project = {"name": "很长的项目名称" * 10, "requirement": largest, "description": "说明" * 400}
    assert len(json.dumps(project, ensure_ascii=False).encode()) < projects.MAX_BODY
    r = client.post("/api/match", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    over = client.post("/api/match", json=requirement(POLYGON_MAX_VERTICES))
    assert over.status_code == 422, over.text[:300]
    assert f"最多 {POLYGON_MAX_VERTICES:,} 个顶点" in over.text


def test_many_errors_make_a_short_answer(client: TestClient) -> None:
    body = {f"field{i}": 1 for i in range(2000)}
    r = client.post("/api/match", json=body)
    assert r.status_code == 422
    assert len(r.json()["errors"]) == 20 and "另有 1,980 处" in r.json()["detail"]
    assert len(r.content) < 4096


@pytest.mark.parametrize("role", ROLES)
def test_staff_json_routes_have_caps_too(
    client: TestClient, tokens: dict[str, str], settings: Settings, role: str
) -> None:
    """Every role (and nobody) is refused alike, before the route's own checks (sign-in,
    scope, If-Match) read anything."""
    from landmatch.api.limits import body_cap

    h = {**_headers(role, tokens), "Content-Type": "application/json"}
    for method, url, cap in (
        ("POST", "/api/projects", "96 KB"),
        ("PATCH", "/api/projects/1", "96 KB"),
        ("POST", "/api/policies", "64 KB"),
        ("PATCH", "/api/policies/X", "64 KB"),
        ("POST", "/api/inquiries", "16 KB"),
    ):
        n = int(cap.split()[0]) * 1024 + 1
        _is_413(client.request(method, url, content=_not_json(n), headers=h), cap)
    # Any other route that takes no file, and a path that is no route at all: the JSON cap
    # (room for a parcel with the most vertices allowed).
    n = body_cap(settings) + 1
    cap = f"{body_cap(settings) // 1024 // 1024} MB"
    for method, url in (
        ("PATCH", "/api/parcels/X"),
        ("POST", "/api/users"),
        ("POST", "/no/such/path"),
    ):
        _is_413(client.request(method, url, content=_not_json(n), headers=h), cap)


def test_the_sign_in_form_is_small(client: TestClient) -> None:
    r = client.post(
        "/workbench/login",
        content=b"name=a&password=" + b"x" * (16 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _is_413(r, "16 KB")


def test_uploads_keep_the_upload_cap(client: TestClient, tokens: dict[str, str]) -> None:
    """A file of 2 MB is over every JSON cap and far under the upload cap: it reaches the
    import (which reads it and finds nothing to import)."""
    data = b'{"type": "FeatureCollection", "features": []}' + b" " * (2 << 20)
    r = client.post(
        "/api/imports",
        files={"file": ("a.geojson", data)},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code != 413, r.text[:300]

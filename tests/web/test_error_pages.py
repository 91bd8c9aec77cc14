"""A browser that opens a page gets an error as a zh-CN page with its status; programs (the
JSON API, the OGC API, ``fetch()`` without ``text/html``) keep problem+json."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import sign_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _page(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text and f"（{status}）" in r.text
    return r.text


def _problem(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status


def test_the_bare_host_opens_the_map(client: TestClient) -> None:
    r = client.get("/", headers=BROWSER, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/map"


def test_unknown_pages_and_records_are_pages_for_a_browser(client: TestClient) -> None:
    page = _page(client.get("/workbench/typo", headers=BROWSER), 404)
    assert "请求的资源不存在" in page and 'href="/workbench"' in page
    unknown = str(uuid.uuid4())
    page = _page(client.get(f"/match/{unknown}/map", headers=BROWSER), 404)
    assert f"未找到匹配记录 {unknown}" in page
    assert 'href="/map"' in page and "熟地清单工作台</a>" not in page  # the public's look
    # What the address carries is text on the page.
    page = _page(client.get("/match/<i>x<i>/map", headers=BROWSER), 404)
    assert "<i>x" not in page and "&lt;i&gt;x&lt;i&gt;" in page


def test_programs_keep_problem_json(client: TestClient) -> None:
    unknown = str(uuid.uuid4())
    for path in (f"/api/match/{unknown}", "/ogc/collections/nope", "/api/nope", "/tiles/x"):
        _problem(client.get(path, headers=BROWSER), 404)
    # fetch() and API clients on a page's path: no text/html named, so problem+json.
    _problem(client.get(f"/match/{unknown}/map"), 404)
    _problem(client.get("/nope", headers={"Accept": "application/json"}), 404)
    _problem(client.get("/parcels/NOPE/card.html", headers={"Accept": "*/*"}), 404)


def test_a_signed_in_page_error_keeps_the_navigation(
    client: TestClient, passwords: dict[str, str]
) -> None:
    sign_in(client, passwords["bureau"])
    page = _page(client.get("/workbench/parcels/NOPE-0000", headers=BROWSER), 404)
    assert 'aria-label="主导航"' in page and "/workbench/account" in page
    # A parameter FastAPI refuses, on a page: the page too.
    page = _page(client.get("/workbench/parcels", params={"city": "x" * 40}, headers=BROWSER), 422)
    assert "请求参数无效" in page


@pytest.fixture
def boom(app: FastAPI) -> FastAPI:
    def fail() -> None:
        raise RuntimeError("a defect")

    app.add_api_route("/test-boom", fail)
    app.add_api_route("/api/test-boom", fail)
    return app


def test_a_defect_on_a_page_is_the_500_page(boom: FastAPI, client: TestClient) -> None:
    page = _page(client.get("/test-boom", headers=BROWSER), 500)
    assert "服务器内部错误" in page and "a defect" not in page
    _problem(client.get("/api/test-boom", headers=BROWSER), 500)
    _problem(client.get("/test-boom"), 500)


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html, application/json", False),
        ("text/html;q=0.9, application/problem+json;q=0.1", True),
        ("text/html;q=bad", False),
    ],
)
def test_what_a_browser_prefers(accept: str, html: bool) -> None:
    from landmatch.api.problems import prefers_html

    assert prefers_html(accept) is html

"""A browser that opens a page gets an error as a zh-CN page with its status; programs (the
JSON API, the OGC API, ``fetch()`` without ``text/html``) keep problem+json."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

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


def test_a_method_a_workbench_path_does_not_take_is_a_page_for_a_browser(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """A 405 on a /workbench URL (the journeys review's known item): a browser gets the zh-CN
    error page with the staff's navigation and the Allow header, whichever method it used
    (routing's GET and POST refusals, and the methods MethodsMiddleware refuses: PUT, DELETE,
    HEAD on a POST-only URL …); programs keep problem+json with the same Allow."""
    csrf = sign_in(client, passwords["promoter"])
    cases = [
        ("GET", "/workbench/projects/1/stage", "POST"),
        ("POST", "/workbench/projects", "GET"),
        ("PUT", "/workbench/projects", "GET, HEAD, OPTIONS"),
        ("DELETE", "/workbench/projects/1/stage", "POST, OPTIONS"),
        ("PATCH", "/workbench/account", "GET, HEAD, OPTIONS"),
        ("HEAD", "/workbench/projects/1/stage", "POST, OPTIONS"),
    ]
    for method, path, allow in cases:
        r = client.request(method, path, headers={**BROWSER, "X-CSRF-Token": csrf})
        assert r.status_code == 405, (method, path, r.text[:200])
        assert r.headers["content-type"].startswith("text/html"), (method, path)
        assert r.headers["allow"] == allow, (method, path)
        assert r.headers["content-security-policy"], (method, path)
        if method != "HEAD":
            page = _page(r, 405)
            assert "不支持的请求方法" in page and 'aria-label="主导航"' in page, (method, path)
            # A form's address opened (a refused form's page reloaded from the address bar,
            # a bookmark) says what to do.
            assert ("这个地址用于提交页面上的表单，不能直接打开" in page) == (method == "GET")
        # Programs: problem+json, with the same Allow.
        for accept in ("application/json", "*/*"):
            r = client.request(method, path, headers={"Accept": accept, "X-CSRF-Token": csrf})
            assert r.status_code == 405 and r.headers["allow"] == allow, (method, path)
            assert r.headers["content-type"] == "application/problem+json", (method, path)
    # The API's paths keep problem+json for a browser too.
    r = client.put("/api/projects", headers={**BROWSER, "X-CSRF-Token": csrf})
    _problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, POST, OPTIONS"


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


@pytest.mark.parametrize(("role", "entry"), [("bureau", "数据导入"), ("promoter", "招商项目")])
def test_an_unknown_workbench_path_keeps_the_staff_navigation(
    client: TestClient, passwords: dict[str, str], role: str, entry: str
) -> None:
    """No page admits an unknown path, yet a signed-in staff member's error page has the
    workbench's bar with the entries of the role, and the ways back."""
    csrf = sign_in(client, passwords[role])
    referer = {"Referer": str(client.base_url) + "/workbench/parcels?page=2"}
    for method, path, status, data in (
        ("GET", "/workbench/no-such-page", 404, None),
        ("POST", "/workbench/logout", 403, {"csrf_token": "not-" + csrf}),  # CSRF refused
    ):
        r = client.request(method, path, headers={**BROWSER, **referer}, data=data)
        page = _page(r, status)
        assert 'id="lm-nav"' in page and f">{entry}</a>" in page, (method, path)
        assert 'href="/workbench/account"' in page and "退出" in page
        assert 'href="/workbench/parcels?page=2" id="error-back">返回上一页' in page
        assert 'href="/workbench">返回工作台首页' in page and "error-sign-in" not in page
    # The promoter's bar has no 数据导入, the bureau's no 招商项目.
    other = {"数据导入": "招商项目", "招商项目": "数据导入"}[entry]
    assert f">{other}</a>" not in page
    # A referer of another site, or of this very page, is no way back.
    r = client.get(
        "/workbench/no-such-page",
        headers={**BROWSER, "Referer": "https://evil.example/workbench/parcels"},
    )
    assert "error-back" not in _page(r, 404)
    r = client.get(
        "/workbench/no-such-page",
        headers={**BROWSER, "Referer": str(client.base_url) + "/workbench/no-such-page"},
    )
    assert "error-back" not in _page(r, 404)


def test_an_unknown_workbench_path_offers_sign_in_to_the_anonymous(client: TestClient) -> None:
    page = _page(client.get("/workbench/no-such-page?x=1", headers=BROWSER), 404)
    assert 'id="lm-nav"' not in page and "/workbench/account" not in page
    assert 'href="/workbench/login?next=/workbench/no-such-page%3Fx%3D1" id="error-sign-in"' in page
    assert "请求的资源不存在" in page


def test_an_oversized_upload_is_a_page_for_a_browser(
    make_client: Any, passwords: dict[str, str], session: Session
) -> None:
    """The body limit answers before the app reads the body: a browser's form post gets the
    error page (signed in: with the bar and the way back to the form), programs problem+json."""
    small = make_client(max_upload_mb=1)
    csrf = sign_in(small, passwords["bureau"])
    jobs = session.execute(text("SELECT count(*) FROM landmatch.import_job")).scalar()
    big = {"files": ("big.geojson", b"{" + b" " * (3 << 20) + b"}")}
    form = str(small.base_url) + "/workbench/imports/new"
    r = small.post(
        "/workbench/imports",
        files=big,
        data={"csrf_token": csrf},
        headers={**BROWSER, "Referer": form},
    )
    page = _page(r, 413)
    assert "上传文件过大（413）" in page and "上传文件超过上限 1 MB" in page
    assert 'id="lm-nav"' in page and ">数据导入</a>" in page
    assert 'href="/workbench/imports/new" id="error-back">返回上一页' in page
    assert r.headers["content-security-policy"]  # a page like any other: its nonce
    # Programs: problem+json, on the same path and on the API's.
    r = small.post("/workbench/imports", files=big, data={"csrf_token": csrf})
    _problem(r, 413)
    assert "上限 1 MB" in r.json()["detail"]
    r = small.post("/api/imports", files=big, headers=BROWSER)
    _problem(r, 413)
    assert session.execute(text("SELECT count(*) FROM landmatch.import_job")).scalar() == jobs


def test_a_form_field_over_its_size_is_refused_in_words(
    client: TestClient, passwords: dict[str, str], session: Session
) -> None:
    """Review 3, F2: a form field over Starlette's 1 MB (a zone boundary of some 40,000
    vertices typed or drawn) answered 400 in English; it says what happened and what to do
    instead (upload a boundary file), on the page and to a program."""
    zone = session.execute(
        text("SELECT code FROM landmatch.dev_zone WHERE city_code = '130100' ORDER BY code LIMIT 1")
    ).scalar_one()
    csrf = sign_in(client, passwords["bureau"])
    data = {"csrf_token": csrf, "coords": "114.5 38.0," * 110_000}
    r = client.post(
        f"/workbench/zones/{zone}/boundary",
        data=data,
        headers=BROWSER,
        follow_redirects=False,
    )
    page = _page(r, 400)
    assert "表单中有一项超过 1,024 KB 的上限" in page and "上传边界文件" in page

"""The comparison and the 选址建议书 as PDFs (issue #15 §3): printed through the brochures'
path (headless Chromium, the PDF slots) from self-contained HTML that holds the same rows as
the pages; the comparison for the run's team only, the proposal for anyone with a valid link
(public fields only, an opening recorded); user text stays text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.maps import printed
from landmatch.match import compare
from landmatch.settings import Settings
from tests.conftest import auth, sign_in

ROLES = ("public", "admin", "bureau", "zone", "promoter")
REQ = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 5}
NAME = "<b>打印</b>项目"


@pytest.fixture
def run(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    h = auth(tokens["promoter"])
    p = client.post("/api/projects", json={"name": NAME, "requirement": REQ}, headers=h).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    codes = [
        f["properties"]["code"] for f in body["features"] if f["properties"]["kind"] == "parcel"
    ]
    return {"project": p, "id": body["match_id"], "body": body, "codes": codes[:4]}


def test_compare_html_holds_the_pages_rows_as_text(run: dict[str, Any]) -> None:
    sites = compare.pick(run["body"], run["codes"])
    table = compare.rows(run["body"], sites)
    html = printed.compare_html(NAME, sites, table)
    assert "<b>打印</b>" not in html and "&lt;b&gt;打印&lt;/b&gt;项目 · 地块对比" in html
    assert "default-src 'none'" in html and "<script" not in html
    for label, values in table:
        assert f'<th scope="row">{label}</th>' in html
        for v in values:
            assert f"<td>{v}</td>" in html.replace("&#39;", "'") or "&" in v
    assert "A4 landscape" in html  # four sites: landscape
    assert "A4 portrait" in printed.compare_html(
        "x", sites[:2], compare.rows(run["body"], sites[:2])
    )


@pytest.mark.parametrize("role", ROLES)
def test_compare_pdf_as_each_role(
    client: TestClient, passwords: dict[str, str], run: dict[str, Any], role: str
) -> None:
    if role != "public":
        sign_in(client, passwords[role])
    q = "&".join(f"codes={c}" for c in run["codes"][:3])
    r = client.get(f"/workbench/matches/{run['id']}/compare.pdf?{q}", follow_redirects=False)
    if role == "public":
        assert r.status_code == 303
    elif role in ("admin", "promoter"):
        assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:300]
        assert r.headers["content-type"] == "application/pdf"
        assert "attachment" in r.headers["content-disposition"]
    else:
        assert r.status_code == 403


def test_compare_page_links_its_pdf(
    client: TestClient, passwords: dict[str, str], run: dict[str, Any]
) -> None:
    sign_in(client, passwords["promoter"])
    q = "&".join(f"codes={c}" for c in run["codes"][:2])
    page = client.get(f"/workbench/matches/{run['id']}/compare?{q}").text
    assert f'href="/workbench/matches/{run["id"]}/compare.pdf?{q}' in page.replace("&amp;", "&")
    r = client.get(f"/workbench/matches/{run['id']}/compare.pdf?codes=不存在的地块")
    assert r.status_code == 400 and "没有地块" in r.text


def _proposal(client: Any, passwords: dict[str, str], run: dict[str, Any]) -> str:
    csrf = sign_in(client, passwords["promoter"])
    r = client.post(
        f"/workbench/matches/{run['id']}/proposal",
        data={"codes": run["codes"][:3], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/workbench/projects/{run['project']['id']}").text
    found = re.search(r"/p/[0-9a-f-]+\.\d+\.[0-9a-f]+", page)
    assert found
    return found.group(0)


def test_proposal_pdf_public_fields_only(
    client: TestClient,
    passwords: dict[str, str],
    run: dict[str, Any],
    session: Session,
    settings: Settings,
) -> None:
    session.execute(
        text(
            "UPDATE landmatch.parcel SET visibility = 'public', holder = '内部持有人XYZ', "
            "reserve_price_wan_per_mu = 12.345 WHERE code = ANY(:c)"
        ),
        {"c": run["codes"][:3]},
    )
    link = _proposal(client, passwords, run)
    client.cookies.clear()  # signed out, as the investor
    page = client.get(link).text
    assert f'href="{link}.pdf"' in page
    r = client.get(link + ".pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["cache-control"] == "no-store"
    opens = session.execute(
        text(
            "SELECT count(*) FROM landmatch.proposal_open o JOIN landmatch.proposal p "
            "ON p.id = o.proposal_id WHERE p.project_id = :p"
        ),
        {"p": run["project"]["id"]},
    ).scalar_one()
    assert opens == 2  # the page and the PDF
    # The HTML printed is built from the public cards only.
    from landmatch.match import proposals

    data = proposals.open_public(
        session,
        link.removeprefix("/p/"),
        secret=settings.secret_key,
        stale_after_days=settings.stale_after_days,
        user_agent=None,
    )
    html = printed.proposal_html(data)
    assert "内部持有人XYZ" not in html and "12.345" not in html
    assert "&lt;b&gt;打印&lt;/b&gt;项目" in html and "<b>打印</b>" not in html
    for code in run["codes"][:3]:
        assert code in html
    assert "<script" not in html


def test_bad_proposal_pdf_link_is_the_same_404(
    client: TestClient, passwords: dict[str, str], run: dict[str, Any]
) -> None:
    link = _proposal(client, passwords, run)
    pid, exp, sig = link.removeprefix("/p/").split(".")
    client.cookies.clear()
    for bad in (f"/p/{pid}.{exp}.{'0' * 32}.pdf", f"/p/{pid}.{int(exp) + 1}.{sig}.pdf", "/p/x.pdf"):
        r = client.get(bad)
        assert r.status_code == 404 and "链接无效或已过期" in r.text, bad


def test_a_download_named_after_a_project_is_a_plain_file_name(
    client: TestClient, tokens: dict[str, str], passwords: dict[str, str]
) -> None:
    """Review finding (exports 3): the comparison's file is named after the project, and the
    name went into ``filename*`` as it was, "/" unencoded (not an RFC 5987 character, so a
    browser may drop the header's name) and with the characters no file name holds: path
    separators, Windows' reserved ones, control characters and the bidirectional overrides
    that make a name read as another (…<U+202E>fdp.exe… shown as …exe.pdf)."""
    from urllib.parse import unquote

    h = auth(tokens["promoter"])
    name = '报价单/..\\x\u202efdp.exe"<>|:*?\t' + "长" * 150
    p = client.post("/api/projects", json={"name": name, "requirement": REQ}, headers=h).json()
    body = client.post(f"/api/projects/{p['id']}/match", headers=h).json()
    codes = [f["properties"]["code"] for f in body["features"]][:2]
    sign_in(client, passwords["promoter"])
    q = "&".join(f"codes={c}" for c in codes)
    r = client.get(f"/workbench/matches/{body['match_id']}/compare.xlsx?{q}")
    assert r.status_code == 200, r.text[:300]
    found = re.fullmatch(
        r"""attachment; filename="compare\.xlsx"; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+)""",
        r.headers["content-disposition"],
    )
    assert found, r.headers["content-disposition"]
    saved = unquote(found.group(1))
    assert saved.startswith("报价单_.._x_fdp.exe") and saved.endswith("长.xlsx"), saved
    assert not re.search('[/\\\\:*?"<>|\x00-\x1f\u202e]', saved) and len(saved) <= 90, saved

"""Pages after a usability review, through the app (no browser): what each role is offered on
the home page, and figures and records written for people rather than as internals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import sign_in
from tests.web.html import section


def test_home_links_the_areas_each_role_may_use(
    client: TestClient, passwords: dict[str, str]
) -> None:
    offered = {
        "admin": {"home-imports", "home-zones"},
        "bureau": {"home-imports", "home-zones"},
        "zone": {"home-zones"},
        "promoter": set(),
    }
    for role, cards in offered.items():
        sign_in(client, passwords[role])
        page = client.get("/workbench").text
        assert "建设中" not in page, role
        shown = {c for c in ("home-imports", "home-zones") if f'id="{c}"' in page}
        assert shown == cards, role
        if "home-imports" in cards:
            assert 'href="/workbench/imports"' in page
            assert client.get("/workbench/imports").status_code == 200
        if "home-zones" in cards:
            assert 'href="/workbench/zones"' in page
            assert client.get("/workbench/zones").status_code == 200


def test_audit_details_read_as_words(
    client: TestClient, session: Session, passwords: dict[str, str]
) -> None:
    from landmatch.accounts import audit

    audit.record(
        session,
        "user_updated",
        actor="t-admin",
        subject="t-promoter",
        detail={
            "role": ["bureau", "promoter"],
            "city_code": ["130100", None],
            "team": [None, "石家庄招商<一组>"],
        },
    )
    audit.record(
        session,
        "token_created",
        actor="t-admin",
        subject="t-promoter",
        detail={"token_id": 7, "name": "脚本", "expires_at": None},
    )
    session.flush()
    bad = client.post(
        "/workbench/login", data={"name": passwords["promoter"], "password": "wrong-password-1"}
    )
    assert "用户名或密码错误" in bad.text
    sign_in(client, passwords["admin"])
    page = client.get("/workbench/audit").text
    table = section(page, "audit")
    assert "角色：自然资源局 → 招商团队" in table
    assert "城市：石家庄市 → 无" in table
    assert "团队：无 → 石家庄招商&lt;一组&gt;" in table
    assert "令牌编号：7；名称：脚本；有效期至：长期有效" in table
    assert "原因：密码错误；方式：登录页" in table
    for raw in ("None", "=[", "bad_password", "via=", "team="):
        assert raw not in table, raw

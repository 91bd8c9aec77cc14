"""我有意向 inquiries (issue #18 item 6, #15 §3 "Leads"): the public endpoint's anti-spam
layers (signed, time-stamped token used once; honeypot; per-address limit with 429), its size
and text checks in Chinese, routing to the team covering the parcel's zone or city, and that an
inquiry is internal data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from landmatch.errors import TooManyRequests
from landmatch.leads import coverage, inquiries
from landmatch.settings import Settings
from tests.conftest import sign_in


def _token(settings: Any, seconds_ago: float = 30) -> str:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return inquiries.issue_token(settings.secret_key, at)


def _body(settings: Any, code: str, **changes: Any) -> dict[str, Any]:
    body = {
        "token": _token(settings),
        "parcel": code,
        "name": "张先生",
        "company": "某汽车零部件有限公司",
        "phone": "+86 138-0000-0000",
        "email": "",
        "message": "拟投资 5 亿元建设汽车零部件项目，\n需用地约 100 亩。",
        "consent": True,
        "website": "",
    }
    body.update(changes)
    return body


def _stored(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("SELECT * FROM landmatch.inquiry ORDER BY id"))
    return [dict(r._mapping) for r in rows]


def _admin() -> Any:
    from landmatch.auth import Principal

    return Principal(name="t-admin", role="admin")


def test_form_token_is_signed_and_not_cached(client: TestClient, settings: Settings) -> None:
    r = client.get("/api/inquiries/form")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert "招商部门" in body["consent"] and body["min_seconds"] == settings.inquiry_min_seconds
    issued, nonce, mac = body["token"].split(".")
    assert issued.isdigit() and len(nonce) == 24 and len(mac) == 32


def test_inquiry_reaches_the_team_covering_the_city(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    coverage.add(session, _admin(), "t-team-a", city_code="130100")
    r = client.post("/api/inquiries", json=_body(settings, public_code))
    assert r.status_code == 201, r.text
    assert r.json() == {"message": inquiries.CONFIRMATION}
    assert r.headers["cache-control"] == "no-store"
    [row] = _stored(session)
    assert row["owner_team"] == "t-team-a" and row["status"] == "new"
    assert row["parcel_code"] == public_code and row["city_code"] == "130100"
    assert row["message"] == "拟投资 5 亿元建设汽车零部件项目，\n需用地约 100 亩。"
    assert row["phone"] == "+86 138-0000-0000" and row["email"] is None
    assert row["address"] == "testclient" and row["consent_at"] is not None


def test_a_zone_team_takes_precedence_over_the_city_team(
    client: TestClient, session: Session, settings: Settings
) -> None:
    code, zone = session.execute(
        text(
            "SELECT p.code, z.code FROM landmatch.parcel p JOIN landmatch.dev_zone z "
            "ON z.id = p.zone_id WHERE p.status = 'ready' AND p.visibility = 'public' "
            "AND p.deleted_at IS NULL ORDER BY p.code LIMIT 1"
        )
    ).one()
    city = session.execute(
        text("SELECT city_code FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    coverage.add(session, _admin(), "city-team", city_code=city)
    coverage.add(session, _admin(), "zone-team", zone_code=zone)
    assert client.post("/api/inquiries", json=_body(settings, code)).status_code == 201
    assert _stored(session)[-1]["owner_team"] == "zone-team"


def test_no_team_covers_it_then_admins_only(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    assert client.post("/api/inquiries", json=_body(settings, public_code)).status_code == 201
    assert _stored(session)[-1]["owner_team"] is None


def test_honeypot_answers_alike_and_stores_nothing(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    r = client.post("/api/inquiries", json=_body(settings, public_code, website="http://x"))
    assert r.status_code == 201 and r.json() == {"message": inquiries.CONFIRMATION}
    assert _stored(session) == []


@pytest.mark.parametrize(
    "token,reason",
    [
        ("1.2.3", "表单令牌无效"),
        ("forged", "表单令牌无效"),
        ("fresh", "提交过快"),
        ("old", "表单已过期"),
        ("tampered", "表单令牌无效"),
    ],
)
def test_token_must_be_genuine_and_of_age(
    client: TestClient,
    session: Session,
    settings: Settings,
    public_code: str,
    token: str,
    reason: str,
) -> None:
    if token == "forged":
        token = inquiries.issue_token("another-secret", dt.datetime.now(dt.UTC))
    elif token == "fresh":
        token = _token(settings, seconds_ago=0)
    elif token == "old":
        token = _token(settings, seconds_ago=settings.inquiry_form_hours * 3600 + 60)
    elif token == "tampered":
        issued, nonce, mac = _token(settings).split(".")
        token = f"{int(issued) - 100}.{nonce}.{mac}"
    r = client.post("/api/inquiries", json=_body(settings, public_code, token=token))
    assert r.status_code == 400, r.text
    assert reason in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _stored(session) == []


def test_a_form_sent_at_once_and_empty_is_told_what_to_fill_in(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    """Sent as soon as it opened: the empty fields are named first (422), not 提交过快; filled
    in, still too soon, 提交过快 (400)."""
    fresh = _token(settings, seconds_ago=0)
    empty = _body(settings, public_code, token=fresh, name="", message="", phone="")
    r = client.post("/api/inquiries", json=empty)
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} >= {"name", "message", "phone"}
    r = client.post("/api/inquiries", json=_body(settings, public_code, token=fresh))
    assert r.status_code == 400 and "提交过快" in r.json()["detail"]
    assert _stored(session) == []


def test_one_form_is_sent_once(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    body = _body(settings, public_code)
    assert client.post("/api/inquiries", json=body).status_code == 201
    again = client.post("/api/inquiries", json=body)
    assert again.status_code == 409 and "已提交过" in again.json()["detail"]
    assert len(_stored(session)) == 1


@pytest.mark.parametrize(
    "changes,field,reason",
    [
        ({"name": "  "}, "name", "请填写姓名"),
        ({"message": ""}, "message", "请填写留言"),
        ({"phone": "", "email": ""}, "phone", "至少一项"),
        ({"phone": "call me"}, "phone", "电话号码格式不正确"),
        ({"email": "a@b", "phone": ""}, "email", "电子邮箱格式不正确"),
        ({"consent": False}, "consent", "请阅读并勾选同意"),
        ({"name": "张" * 51}, "name", "最多 50 个字"),
        ({"message": "x" * 2001}, "message", "最多 2000 个字"),
        ({"name": "张\u202e三"}, "name", "控制字符"),
        ({"company": "a\x07b"}, "company", "控制字符"),
        ({"match_id": "../../etc"}, "match_id", "格式不正确"),
    ],
)
def test_bad_input_is_refused_beside_its_field(
    client: TestClient,
    session: Session,
    settings: Settings,
    public_code: str,
    changes: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    r = client.post("/api/inquiries", json=_body(settings, public_code, **changes))
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert reason in errors[field], errors
    assert _stored(session) == []


def test_text_is_stored_as_typed(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    payload = '<script>alert(1)</script>&amp; "引号"'
    r = client.post(
        "/api/inquiries", json=_body(settings, public_code, name=payload[:50], message=payload)
    )
    assert r.status_code == 201
    row = _stored(session)[-1]
    assert row["message"] == payload and row["name"] == payload[:50]


def test_size_limits(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    big = _body(settings, public_code, message="x" * (inquiries.MAX_BODY + 10))
    r = client.post("/api/inquiries", json=big)
    assert r.status_code == 413 and "提交内容过大" in r.json()["detail"]
    r = client.post("/api/inquiries", json=_body(settings, public_code, name="x" * 201))
    assert r.status_code == 422
    r = client.post("/api/inquiries", json=_body(settings, public_code, extra="x"))
    assert r.status_code == 422
    r = client.post(
        "/api/inquiries", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    r = client.post("/api/inquiries", json=["a"])
    assert r.status_code == 400
    assert _stored(session) == []


def test_only_public_parcels(client: TestClient, session: Session, settings: Settings) -> None:
    hidden = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE deleted_at IS NULL AND "
            "(status <> 'ready' OR visibility <> 'public') ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    for code in (hidden, "NO-SUCH-PARCEL"):
        r = client.post("/api/inquiries", json=_body(settings, code))
        assert r.status_code == 404 and "未找到公开地块" in r.json()["detail"], r.text
    assert _stored(session) == []


def test_rate_limit_per_address(
    make_client: Callable[..., TestClient], session: Session, settings: Settings, public_code: str
) -> None:
    c = make_client(inquiry_max_per_hour=2)
    for _ in range(2):
        assert c.post("/api/inquiries", json=_body(settings, public_code)).status_code == 201
    r = c.post("/api/inquiries", json=_body(settings, public_code))
    assert r.status_code == 429, r.text
    assert "每小时最多 2 次" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0
    assert len(_stored(session)) == 2


def test_signed_in_cookie_needs_csrf(
    client: TestClient,
    session: Session,
    settings: Settings,
    passwords: dict[str, str],
    public_code: str,
) -> None:
    csrf = sign_in(client, passwords["promoter"])
    r = client.post("/api/inquiries", json=_body(settings, public_code))
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post(
        "/api/inquiries", json=_body(settings, public_code), headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201


def test_inquiries_are_not_readable_through_the_api(
    client: TestClient, session: Session, settings: Settings, public_code: str
) -> None:
    assert client.post("/api/inquiries", json=_body(settings, public_code)).status_code == 201
    r = client.get("/api/inquiries")
    assert r.status_code == 405


def test_concurrent_inquiries_from_one_address_keep_the_limit(
    engine: Engine, settings: Settings
) -> None:
    """Twelve concurrent inquiries from one address were 8 × 201 against a limit of 5: each
    counted before any had written. Here two requests from one address (limit 1) are made to
    count and write at the same moment: a third connection holds the parcel's row lock, which
    every inquiry's insert needs (its foreign key), until both are waiting in the database.
    Without the address's lock both have counted 0 by then and both write; with it the second
    waits for the first to finish, counts 1 and gets 429."""
    import threading
    import time
    import uuid

    from sqlalchemy.orm import Session as OrmSession

    address = f"203.0.113.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"
    limits = inquiries.Limits(0, settings.inquiry_form_hours, 1)
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE status = 'ready' "
                "AND visibility = 'public' AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    outcome: list[str] = []

    def send() -> None:
        with OrmSession(engine) as s:
            try:
                inquiries.submit(
                    s,
                    inquiries.InquiryIn.model_validate(_body(settings, code)),
                    secret=settings.secret_key,
                    limits=limits,
                    address=address,
                    user_agent="race",
                )
                s.commit()
                outcome.append("stored")
            except TooManyRequests:
                s.rollback()
                outcome.append("429")

    def waiting() -> int:
        with engine.connect() as c:
            return int(
                c.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ).scalar_one()
            )

    try:
        with engine.connect() as holder:
            hold = holder.begin()
            holder.execute(
                text("SELECT 1 FROM landmatch.parcel WHERE code = :c FOR UPDATE"), {"c": code}
            )
            threads = [threading.Thread(target=send) for _ in range(2)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while waiting() < 2:  # both blocked: on the row (and, fixed, on the address)
                assert time.monotonic() < deadline, outcome
                time.sleep(0.05)
            hold.rollback()
            for t in threads:
                t.join(30)
        assert sorted(outcome) == ["429", "stored"], outcome
        with engine.connect() as c:
            stored = c.execute(
                text("SELECT count(*) FROM landmatch.inquiry WHERE address = :a"), {"a": address}
            ).scalar_one()
        assert stored == 1
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.inquiry WHERE address = :a"), {"a": address})


@pytest.mark.parametrize("who", ["anonymous", "admin", "bureau", "promoter", "zone"])
def test_only_json_from_this_site(
    make_client: Callable[..., TestClient],
    session: Session,
    settings: Settings,
    tokens: dict[str, str],
    public_code: str,
    who: str,
) -> None:
    """Another site's page could post an inquiry as a "simple" request (text/plain or a
    form, no preflight) from each visitor's browser: 201. Now only JSON is taken (415, so a
    browser must preflight, which is refused), and a foreign Origin is 403."""
    c = make_client(cors_origins="https://partner.example", public_base_url="https://lm.example")
    h = {} if who == "anonymous" else {"Authorization": f"Bearer {tokens[who]}"}
    text_body = json.dumps(_body(settings, public_code)).encode()
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        sent = {**h, "Origin": "https://evil.example"}
        if kind:
            sent["Content-Type"] = kind
        r = c.post("/api/inquiries", content=text_body, headers=sent)
        assert r.status_code == 415, (kind, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "application/json" in r.json()["detail"]
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        r = c.post(
            "/api/inquiries", json=_body(settings, public_code), headers={**h, "Origin": origin}
        )
        assert r.status_code == 403 and "其他网站" in r.json()["detail"], (origin, r.text)
    assert _stored(session) == []
    # This site (the host asked, the public address, an allowed origin) or no Origin at all.
    for own in ("http://testserver", "https://lm.example", "https://partner.example", ""):
        sent = {**h, "Origin": own} if own else h
        r = c.post("/api/inquiries", json=_body(settings, public_code), headers=sent)
        assert r.status_code == 201, (own, r.text)
    assert len(_stored(session)) == 4

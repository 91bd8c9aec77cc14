"""``POST /api/layers/{layer}``: one new facility or constraint area, as the workbench's form
adds it (``changes.create_record``): 201 with the change report; a stored or deleted code 409
naming the field; an unreadable geometry 422; another city's place refused for a bureau; the
roles that may not write reference layers 403."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import ANY
from landmatch.reflayers import changes
from tests.conftest import auth

BODY: dict[str, Any] = {
    "code": "api-new-sub",
    "name": "正定新区变电站",
    "kind": "变电站",
    "geometry": {"type": "Point", "coordinates": [114.58, 38.16]},
    "reason": "新投运",
}


def _row(session: Session) -> tuple[str, int] | None:
    row = session.execute(
        text("SELECT city_code, version FROM landmatch.facility WHERE code = :c"),
        {"c": BODY["code"]},
    ).first()
    return None if row is None else (row[0], row[1])


def test_a_bureau_adds_one_facility_and_not_twice(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    bureau = auth(tokens["bureau"])
    bad = client.post(
        "/api/layers/facility", json=BODY | {"geometry": {"type": "Point"}}, headers=bureau
    )
    assert bad.status_code == 422 and _row(session) is None
    elsewhere = BODY | {"geometry": {"type": "Point", "coordinates": [115.46, 38.87]}}
    r = client.post("/api/layers/facility", json=elsewhere, headers=bureau)
    assert r.status_code in (403, 422) and "保定" in r.text and _row(session) is None
    r = client.post("/api/layers/facility", json=BODY, headers=bureau)
    assert r.status_code == 201, r.text
    assert r.json()["inserted"] == [BODY["code"]] and _row(session) == ("130100", 1)
    again = client.post("/api/layers/facility", json=BODY, headers=bureau)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "code"
    changes.delete_record(
        session, Principal(role="admin", name="t"), "facility", BODY["code"], "x", if_match=ANY
    )
    r = client.post("/api/layers/facility", json=BODY, headers=bureau)
    assert r.status_code == 409 and "曾被删除" in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize("role", ("zone", "promoter"))
def test_roles_that_do_not_keep_layers_cannot_add(
    client: TestClient, tokens: dict[str, str], session: Session, role: str
) -> None:
    r = client.post("/api/layers/facility", json=BODY, headers=auth(tokens[role]))
    assert r.status_code == 403 and _row(session) is None
    assert client.post("/api/layers/facility", json=BODY).status_code == 401

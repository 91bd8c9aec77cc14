"""Every file in tests/data/bad/ ends in a clear 4xx problem and leaves the database as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES = json.loads((BAD / "cases.json").read_text())


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert all((BAD / name).exists() for name in CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_rejected_cleanly(
    name: str, client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    case = CASES[name]
    before = fingerprint()
    r = client.post(
        "/api/imports",
        files={"file": (name, (BAD / name).read_bytes())},
        data=case["options"],
        headers=auth(tokens["admin"]),
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    text = body["detail"] + json.dumps(body.get("errors"), ensure_ascii=False)
    assert case["expect"] in text, text[:600]
    assert fingerprint() == before

"""Pages after a usability review, through the app (no browser): what each role is offered on
the home page, and figures and records written for people rather than as internals."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import sign_in


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

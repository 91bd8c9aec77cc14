"""The public field list has one source, the field table (``Field.public`` in
landmatch.inventory.fields); db/parcels derives its column lists from it (issue #19 item 2)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_COLUMNS, PUBLIC_DERIVED
from landmatch.db.tables import Parcel
from landmatch.inventory.fields import FIELDS
from tests.conftest import auth

# Stored but never a column of a listing: the geometry (served as such), the derived zone
# (joined by code and name, with its share), the deletion mark.
NOT_LISTED = {"geom", "geom_3857", "zone_id", "zone_share", "deleted_at"}
# What readers add beside the columns.
ADDED = {"zone_code", "zone_name", "zone_share", "city_name", "area_mu", "area_ha"}


def test_every_parcel_column_is_classified_once() -> None:
    public, internal = set(PUBLIC_COLUMNS), set(INTERNAL_COLUMNS)
    assert not public & internal
    assert public | internal | NOT_LISTED == {c.name for c in Parcel.__table__.columns}
    stored = {c.name for c in Parcel.__table__.columns}
    for f in FIELDS:
        if f.name in stored:
            assert (f.name in public) == f.public, f.name
    assert set(PUBLIC_DERIVED) <= public


def test_the_public_sees_exactly_the_public_fields(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    codes = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE status = 'ready' AND visibility = 'public' "
            "AND deleted_at IS NULL ORDER BY random() LIMIT 25"
        )
    ).scalars()
    internal = {f.name for f in FIELDS if not f.public}
    for code in codes:
        public = client.get(f"/api/parcels/{code}").json()["properties"]
        assert set(public) <= set(PUBLIC_COLUMNS) | ADDED, code
        assert set(PUBLIC_COLUMNS) <= set(public), code
        staff = client.get(f"/api/parcels/{code}", headers=auth(tokens["admin"])).json()
        assert internal <= set(staff["properties"]), code

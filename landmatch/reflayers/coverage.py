"""Declared coverage of the constraint layers: for which cities a kind's data is complete.

A declaration (kind, city) says "every area of this kind in this city is stored"; from it QA
reports a parcel *clear* of the kind instead of *not checked*, and a city covered for every
excluding kind gets ``excluded = false`` for its parcels outside them (the semantics are in
``landmatch.db.constraints``). Declarations are made by whoever imports the layer — with the
import (``covers``) or on their own — and withdrawn the same way; each write keeps its history
in ``layer_version`` and bumps the data versions (triggers, migration 0012), and the facts of
the parcels whose ``excluded`` it changes are recomputed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.dates import beijing_today
from landmatch.db.constraints import checked_cities_sql
from landmatch.db.engine import audited
from landmatch.errors import Forbidden, InvalidInput, NotFound
from landmatch.reflayers import facts
from landmatch.reflayers.report import ChangeReport, describe

if TYPE_CHECKING:
    from typing_extensions import Unpack

LAYER = "constraint_coverage"


@dataclass
class CoveragePlan:
    """The writes a declaration or withdrawal makes."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.inserts or self.updates or self.deletes)


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"


def kind_code(value: str) -> str:
    """A constraint kind from its code or its Chinese name."""
    code = vocab.code_of(vocab.CONSTRAINT_KINDS, value)
    if code is not None:
        return code
    raise InvalidInput(
        f"未知管控区类型 {value!r}；可选："
        + "、".join(f"{c}（{n}）" for c, n in vocab.CONSTRAINT_KINDS.items())
    )


def _cities(principal: Principal, cities: Iterable[str]) -> list[str]:
    out = []
    for c in cities:
        c = str(c).strip()
        if c not in vocab.CITIES:
            raise InvalidInput(f"{vocab.unknown_city(c)}（管控数据覆盖范围按城市声明）")
        if not principal.can_edit_city(c):
            raise Forbidden(
                f"无权声明{vocab.label(vocab.CITIES, c)}的管控数据覆盖范围：超出本账号的城市范围"
            )
        if c not in out:
            out.append(c)
    if not out:
        raise InvalidInput("请至少指定一个城市代码")
    return out


def _current(conn: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT id, kind, city_code, source, as_of, declared_by, declared_at "
            "FROM landmatch.constraint_coverage"
        )
    ).mappings()
    return {(r["kind"], r["city_code"]): dict(r) for r in rows}


def _missing_warning(keys: set[tuple[str, str]], cities: list[str]) -> list[str]:
    out = []
    for city in cities:
        missing = [k for k in vocab.EXCLUDING_KINDS if (k, city) not in keys]
        if missing:
            out.append(
                f"{vocab.label(vocab.CITIES, city)}尚未声明"
                + "、".join(vocab.CONSTRAINT_KINDS[k] for k in missing)
                + "数据完整：该市地块在禁止类管控区外时仍为“未核查”，不算“无冲突”"
            )
    return out


def plan(
    conn: Connection,
    principal: Principal,
    kinds: Iterable[str],
    cities: Iterable[str],
    *,
    withdraw: bool = False,
    source: str | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
) -> CoveragePlan:
    """What declaring (or, with ``withdraw``, withdrawing) ``kinds`` × ``cities`` would write."""
    principal.require("admin", "bureau")
    kind_list = sorted({kind_code(k) for k in kinds})
    if not kind_list:
        raise InvalidInput("请至少指定一种管控区类型")
    city_list = _cities(principal, cities)
    current = _current(conn)
    out = CoveragePlan()
    if withdraw:
        for key in ((k, c) for k in kind_list for c in city_list):
            if key in current:
                out.deletes.append(current[key])
            else:
                out.unchanged += 1
        if not out.deletes:
            raise NotFound(
                "未找到要撤销的覆盖声明："
                + "、".join(f"{vocab.label(vocab.CITIES, c)}" for c in city_list)
                + " / "
                + "、".join(vocab.CONSTRAINT_KINDS[k] for k in kind_list)
            )
    else:
        source = (source or "").strip()
        if not source:
            raise InvalidInput("声明覆盖范围需要注明数据来源（source），如批复文件或成果名称")
        if as_of is None:
            raise InvalidInput("声明覆盖范围需要数据现势日期（as_of，YYYY-MM-DD）")
        if as_of > (today or beijing_today()):
            raise InvalidInput(f"数据现势日期 {as_of.isoformat()} 晚于今天")
        for key in ((k, c) for k in kind_list for c in city_list):
            row = {
                "kind": key[0],
                "city_code": key[1],
                "source": source,
                "as_of": as_of,
                "declared_by": principal.actor,
            }
            old = current.get(key)
            if old is None:
                out.inserts.append(row)
            elif (old["source"], old["as_of"]) != (source, as_of):
                out.updates.append(row)
            else:
                out.unchanged += 1
        after = set(current) | {(r["kind"], r["city_code"]) for r in out.inserts}
        out.warnings = _missing_warning(after, city_list)
    return out


def write(conn: Connection, p: CoveragePlan) -> set[int]:
    """Apply ``p`` (inside :func:`landmatch.db.engine.audited`, so history names who and why);
    returns the live parcels whose ``excluded`` may change: those of the cities that became,
    or stopped being, covered for every excluding kind. Their facts are not refreshed here."""
    checked0 = checked_cities(conn)
    for r in p.inserts:
        conn.execute(
            text(
                "INSERT INTO landmatch.constraint_coverage (kind, city_code, source, as_of, "
                "declared_by) VALUES (:kind, :city_code, :source, :as_of, :declared_by)"
            ),
            r,
        )
    for r in p.updates:
        conn.execute(
            text(
                "UPDATE landmatch.constraint_coverage SET source = :source, as_of = :as_of, "
                "declared_by = :declared_by, declared_at = now() "
                "WHERE kind = :kind AND city_code = :city_code"
            ),
            r,
        )
    for r in p.deletes:
        conn.execute(
            text("DELETE FROM landmatch.constraint_coverage WHERE id = :id"), {"id": r["id"]}
        )
    return facts.parcels_of_cities(conn, sorted(checked0 ^ checked_cities(conn)))


def summary(p: CoveragePlan) -> dict[str, Any]:
    """The plan as ``kind:city`` labels: declared (new), updated (source or date), withdrawn."""
    return {
        "declared": [_label((r["kind"], r["city_code"])) for r in p.inserts],
        "updated": [_label((r["kind"], r["city_code"])) for r in p.updates],
        "withdrawn": [_label((r["kind"], r["city_code"])) for r in p.deletes],
        "unchanged": p.unchanged,
    }


class Declaration(TypedDict, total=False):
    """What :func:`change` passes on to :func:`plan`."""

    withdraw: bool
    source: str | None
    as_of: dt.date | None


def change(
    session: Session,
    principal: Principal,
    kinds: Iterable[str],
    cities: Iterable[str],
    *,
    reason: str | None = None,
    **declaration: Unpack[Declaration],
) -> ChangeReport:
    """Declare (or withdraw) coverage of ``kinds`` for ``cities``; refresh the facts of the
    parcels of every city whose "checked" state flips; return the change report."""
    conn = session.connection()
    withdraw = declaration.get("withdraw", False)
    p = plan(conn, principal, kinds, cities, **declaration)
    done = summary(p)
    report = ChangeReport(
        layer=LAYER,
        inserted=done["declared"],
        updated=done["updated"],
        deleted=done["withdrawn"],
        unchanged=p.unchanged,
        warnings=p.warnings,
        coverage=done,
    )
    if p.empty:
        return report
    default_reason = "撤销管控数据覆盖声明" if withdraw else "声明管控数据覆盖范围"
    with audited(session, principal.actor, reason or default_reason):
        ids = sorted(write(conn, p))
        # A coverage row is no fact: the stored facts are still the old ones here.
        before = facts.snapshot(conn, ids)
        report.refreshed_by = facts.refresh(conn, ids)
    describe(conn, report, ids, before)
    return report


def list_coverage(
    session: Session, principal: Principal, *, city: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The declarations (staff only), with Chinese labels, by city then kind."""
    principal.require("admin", "bureau", "zone", "promoter")
    if city is not None and city not in vocab.CITIES:
        raise InvalidInput(vocab.unknown_city(city))
    params: dict[str, Any] = {"city": city, "kind": None if kind is None else kind_code(kind)}
    rows = session.execute(
        text(
            "SELECT kind, city_code, source, as_of, declared_by, declared_at "
            "FROM landmatch.constraint_coverage WHERE (CAST(:city AS text) IS NULL OR "
            "city_code = :city) AND (CAST(:kind AS text) IS NULL OR kind = :kind) "
            "ORDER BY city_code, kind"
        ),
        params,
    ).mappings()
    return [
        dict(r)
        | {
            "kind_label": vocab.CONSTRAINT_KINDS[r["kind"]],
            "city_name": vocab.label(vocab.CITIES, r["city_code"]),
        }
        for r in rows
    ]


def checked_cities(conn: Connection) -> set[str]:
    """Cities where every excluding kind is covered (as the facts read it)."""
    return set(conn.execute(text(f"SELECT city_code FROM {checked_cities_sql()} s")).scalars())

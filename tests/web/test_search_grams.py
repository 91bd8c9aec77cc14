"""The map search's parcel hits (``landmatch.db.mapdata``, migration 0038_search_bigrams): asked
kind by kind through the code and bigram indexes, they are exactly the hits of the rule — the
exact code, codes that start with the text, codes that hold it (a text with three letters or
digits in a row), then names or addresses that hold it, each kind by code — computed here over
every parcel; and the bigrams never miss a text that a name or address holds, in any case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.like import contains_pattern
from landmatch.db.mapdata import NAME_BIGRAMS, _parcel_kinds, has_trigram_run

LIMIT = 10  # the parcel hits the search returns at most


def _parcel_codes(client: Any, q: str) -> list[str]:
    r = client.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["code"] for h in r.json()["results"] if h["kind"] == "parcel"]


def _expected(rows: Sequence[Any], q: str) -> list[str]:
    """The rule, over every public parcel: (kind, code) order, at most LIMIT. Codes fold ASCII
    letters only (their collation is "C"); names and addresses fold every letter."""

    def ascii_lower(s: str) -> str:
        return "".join(ch.lower() if ch.isascii() else ch for ch in s)

    low, code_q = q.lower(), ascii_lower(q)
    hits = []
    for code, name, address in rows:
        c, n, a = ascii_lower(code), (name or "").lower(), (address or "").lower()
        if code == q:
            kind = 0
        elif c.startswith(code_q):
            kind = 1
        elif code_q in c and has_trigram_run(q):
            kind = 2
        elif low in n or low in a:
            kind = 3
        else:
            continue
        hits.append((kind, code))
    return [code for _kind, code in sorted(hits)[:LIMIT]]


def _add_parcel(session: Session, code: str, name: str, address: str = "") -> None:
    session.execute(
        text(
            "INSERT INTO landmatch.parcel (code, name, address, city_code, status, visibility, "
            "land_use, geom) VALUES (:code, :name, :address, '130100', 'ready', 'public', "
            "'100102', ST_GeomFromText('MULTIPOLYGON(((114.5 38.0, 114.501 38.0, "
            "114.501 38.001, 114.5 38.001, 114.5 38.0)))', 4490))"
        ),
        {"code": code, "name": name, "address": address},
    )


def test_parcel_hits_are_the_rules_hits(client: Any, session: Session) -> None:
    # Kinds that share the ten places: one code that starts with Q7Z, three that hold it, and
    # twelve names that hold it in lower case; a word of two characters with a capital that
    # only full case folding matches (Ⅱ, ⅱ), in names and addresses.
    _add_parcel(session, "Q7Z-SEARCH-1", "测试地块")
    for k in range(3):
        _add_parcel(session, f"T-Q7Z-{k}", "测试地块")
    _add_parcel(session, "T-Q7Z-9", "测试q7z地块")  # listed once: its code holds the text too
    for k in range(12):
        _add_parcel(session, f"T-SEARCH-{k:02d}", f"测试q7z地块{k}")
        _add_parcel(session, f"T-ROMAN-{k:02d}", f"测试乙Ⅱ期{k}", "开发区")
    _add_parcel(session, "T-ROMAN-99", "测试地块", "乙ⅱ路")
    rows = session.execute(
        text(
            "SELECT code, name, address FROM landmatch.parcel "
            "WHERE deleted_at IS NULL AND status = 'ready' AND visibility = 'public'"
        )
    ).all()
    assert len(rows) > 100
    name = next(r.name for r in rows if r.name and len(r.name) >= 6 and "测试" not in r.name)
    address = next(r.address for r in rows if r.address and len(r.address) >= 6)
    code = rows[len(rows) // 2].code
    words = {
        "Q7Z",  # kinds 1, 2 and 3 share the ten
        "q7z",
        "乙Ⅱ",  # two characters: the bigram index; Ⅱ folds to ⅱ
        "乙ⅱ",
        name[2:4],
        name[1:4],
        name[:1],  # one character: codes' starts, names and addresses
        next(ch for ch in name if ch.isdigit()),  # one that a name and many codes hold inside
        address[-3:-1],
        address[:2],
        code,  # the exact code first
        code[:4],  # codes that start with it
        code[-5:-1],  # codes that hold it (trigrams)
        code[-3:-1],  # two characters: not looked for inside codes
        "不存在的地名",
        "①②③",
    }
    for q in sorted(words):
        assert _parcel_codes(client, q) == _expected(rows, q), q
    assert _parcel_codes(client, "Q7Z")[:5] == [
        "Q7Z-SEARCH-1",
        *(f"T-Q7Z-{k}" for k in (0, 1, 2, 9)),
    ]
    assert len(_parcel_codes(client, "乙Ⅱ")) == LIMIT


def test_the_search_reads_the_bigram_index(session: Session) -> None:
    """The names kind the search builds for a two-character word is narrowed by the bigram
    index (else it reads the whole table again)."""
    kind, narrow = _parcel_kinds("正定")[-1]
    assert narrow
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    plan = "\n".join(
        r[0]
        for r in session.execute(
            text(f"EXPLAIN SELECT p.code FROM landmatch.parcel p WHERE {narrow} AND {kind}"),
            {"q": "正定", "like": "%正定%", "prefix": "正定%"},
        )
    )
    assert "ix_parcel_name_bigrams" in plan, plan


def test_the_trigram_rule_is_pg_trgm_s(session: Session) -> None:
    """A text is searched inside codes when pg_trgm can narrow it: three of its word characters
    in a row. Its word characters, character by character, are those ``has_trigram_run``
    counts."""
    chars = "aZ0正ÉéⅡⅱＡａ①²½-_ %.·"
    words = session.execute(
        text("SELECT c, show_trgm(c) <> '{}' FROM unnest(CAST(:cs AS text[])) c"),
        {"cs": list(chars)},
    ).all()
    assert {c: has_trigram_run(c * 3) for c, _ in words} == dict(words)
    assert [has_trigram_run(q) for q in ("130", "纬三路", "a-bc", "0-0", "Ab9")] == [
        True,
        True,
        False,
        False,
        True,
    ]


_CHARS = st.sampled_from(list("正定工业物流路县区大街号地块河北AaBbZzÉéⅡⅱＡａ0139-_ %"))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    t=st.text(_CHARS, min_size=2, max_size=30),
    cut=st.tuples(st.integers(0, 29), st.integers(2, 12)),
    upper=st.booleans(),
    collation=st.sampled_from(["default", "C"]),
)
def test_a_held_text_has_every_bigram_of_its_field(
    session: Session, t: str, cut: tuple[int, int], upper: bool, collation: str
) -> None:
    """No false negative: whenever a name or an address holds a text (ILIKE, in any case), the
    parcel's bigrams hold the text's, whatever the collation of the field."""
    start = min(cut[0], len(t) - 2)
    q = t[start : start + cut[1]]
    q = q.upper() if upper else q.swapcase()
    row = session.execute(
        text(
            f"""
            WITH p(name, address) AS (
              VALUES (CAST(:t AS text) COLLATE "{collation}", CAST(:other AS text)),
                     (CAST(:other AS text), CAST(:t AS text) COLLATE "{collation}"))
            SELECT bool_and(NOT (p.name ILIKE :like OR p.address ILIKE :like)
                            OR {NAME_BIGRAMS} @> landmatch.bigrams(:q)),
                   bool_or(p.name ILIKE :like OR p.address ILIKE :like)
              FROM p
            """
        ),
        {"t": t, "other": "其他", "q": q, "like": contains_pattern(q)},
    ).one()
    never_missed, held = row
    assert never_missed, (t, q)
    if collation == "default":
        assert held, (t, q)  # the case change is matched: the check above is not vacuous

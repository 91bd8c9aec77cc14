"""The map search's parcel hits (``landmatch.db.mapdata``, migration 0038_search_bigrams): asked
kind by kind through the bigram and trigram indexes, they are exactly the hits of the rule —
the exact code, codes that start with the text, codes that hold it, then names or addresses
that hold it, each kind by code — computed here over every parcel; and the bigram functions
never miss a text that a code, name or address holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.db.mapdata import PARCEL_GRAMS

LIMIT = 10  # the parcel hits the search returns at most


def _parcel_codes(client: Any, q: str) -> list[str]:
    r = client.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["code"] for h in r.json()["results"] if h["kind"] == "parcel"]


def _expected(rows: Sequence[Any], q: str) -> list[str]:
    """The rule, over every public parcel: (kind, code) order, at most LIMIT."""
    low = q.lower()
    hits = []
    for code, name, address in rows:
        c, n, a = code.lower(), (name or "").lower(), (address or "").lower()
        if code == q:
            kind = 0
        elif c.startswith(low):
            kind = 1
        elif low in c and len(q) >= 2:  # one character inside codes is not looked for
            kind = 2
        elif low in n or low in a:
            kind = 3
        else:
            continue
        hits.append((kind, code))
    return [code for _kind, code in sorted(hits)[:LIMIT]]


def test_parcel_hits_are_the_rules_hits(client: Any, session: Session) -> None:
    rows = session.execute(
        text(
            "SELECT code, name, address FROM landmatch.parcel "
            "WHERE deleted_at IS NULL AND status = 'ready' AND visibility = 'public'"
        )
    ).all()
    assert len(rows) > 100
    name = next(r.name for r in rows if r.name and len(r.name) >= 6)
    address = next(r.address for r in rows if r.address and len(r.address) >= 6)
    code = rows[len(rows) // 2].code
    words = {
        name[2:4],  # two characters: the bigram index (trigrams need three)
        name[1:4],
        name[:1],  # one character: codes' starts, names and addresses
        next(ch for ch in name if ch.isdigit()),  # one a name and many codes hold inside
        address[-3:-1],
        address[:2],
        code,  # the exact code first
        code[:4],  # codes that start with it
        code[-5:-1],  # codes that hold it (trigrams)
        code[-3:-1],  # two characters inside codes (bigrams)
        "不存在的地名",
    }
    for q in sorted(words):
        want = _expected(rows, q)
        assert _parcel_codes(client, q) == want, q
    assert any(_expected(rows, q) for q in (name[2:4], address[:2]))  # the words do find


def test_the_search_reads_the_bigram_index(session: Session) -> None:
    """The search writes the index's expression the way the index does (else a two-character
    word reads the whole table again)."""
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    plan = "\n".join(
        r[0]
        for r in session.execute(
            text(
                f"EXPLAIN SELECT p.code FROM landmatch.parcel p WHERE {PARCEL_GRAMS} "
                "@> landmatch.tagged_bigrams('n', '正定')"
            )
        )
    )
    assert "ix_parcel_search_grams" in plan, plan


_CHARS = st.sampled_from(list("正定工业物流路县区大街号地块河北AaBbZz0139-_ %\n"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    t=st.text(_CHARS, min_size=2, max_size=30),
    cut=st.tuples(st.integers(0, 29), st.integers(2, 12)),
    upper=st.booleans(),
)
def test_a_held_text_has_every_bigram_of_its_field(
    session: Session, t: str, cut: tuple[int, int], upper: bool
) -> None:
    """No false negative: a text held by a code, a name or an address (in any case) has each
    of its bigrams among that parcel's grams, under the field's tag."""
    start = min(cut[0], len(t) - 2)
    q = t[start : start + cut[1]]
    q = q.upper() if upper else q.swapcase()
    held = session.execute(
        text(
            "SELECT landmatch.search_grams(:t, NULL, NULL) @> landmatch.tagged_bigrams('c', :q), "
            "landmatch.search_grams('X', :t, NULL) @> landmatch.tagged_bigrams('n', :q), "
            "landmatch.search_grams('X', NULL, :t) @> landmatch.tagged_bigrams('n', :q), "
            "landmatch.search_grams('X', 'y', :t) @> landmatch.tagged_bigrams('n', :q)"
        ),
        {"t": t, "q": q},
    ).one()
    assert tuple(held) == (True, True, True, True), (t, q)

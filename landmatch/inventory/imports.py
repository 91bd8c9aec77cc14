"""Bulk import: read → validate (vectorised) → stage with COPY → upsert by code, in one
transaction; a dry run does everything and rolls back, so its report is the real one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.auth import Principal
from landmatch.db import derived
from landmatch.db.engine import audited
from landmatch.db.inventory import (
    ParcelWriter,
    changes_of_updates,
    distances_m,
    existing_ids,
    load_counties_wkb,
    load_regions_wkb,
    overlaps_of_new,
    pending_codes,
    restore_versions,
    restored_states,
    stored_values,
)
from landmatch.errors import Conflict, Forbidden, InvalidInput, NotFound, UnprocessableInput
from landmatch.geo.crs import GCJ02
from landmatch.geo.measure import M2_PER_MU
from landmatch.inventory import codes, land_use, min_price
from landmatch.inventory import fields as F
from landmatch.inventory.boundaries import join_boundaries
from landmatch.inventory.columns import apply_mapping, map_columns
from landmatch.inventory.readers import ReadOptions, read_source
from landmatch.inventory.report import Findings, build_report, row_number, summary, where
from landmatch.inventory.validate import (
    LEASE_RULE_FIELDS,
    PRICE_RULE_FIELDS,
    County,
    Regions,
    check_frame,
    flattened_note,
    order_problems,
    repeated_codes,
    to_storage_array,
)
from landmatch.match.holds import on_status_change
from landmatch.numbers import mu
from landmatch.settings import Settings

Progress = Callable[[str, int, int], None]
# Rows validated and handed to the writer at a time; the first batches are smaller, so that
# PostgreSQL starts inserting early instead of waiting for a whole batch to be validated.
BATCH = 20_000
FIRST_BATCHES = (2_000, 8_000)


def batches(total: int) -> list[tuple[int, int]]:
    """(start, end) of each batch of ``total`` rows."""
    out: list[tuple[int, int]] = []
    start = 0
    sizes = iter(FIRST_BATCHES)
    while start < total:
        end = min(start + next(sizes, BATCH), total)
        out.append((start, end))
        start = end
    return out


@dataclass
class ImportOptions:
    dry_run: bool = False
    city: str | None = None
    crs: str | None = None
    encoding: str | None = None
    # Each code of the file becomes f"{code_prefix}-{code}" (see landmatch.inventory.codes).
    code_prefix: str | None = None
    repair: bool = False
    reason: str | None = None
    # Defaults for a new parcel's blank land use, status and visibility (codes or labels;
    # a land use also as an old GB/T 21010 or GB 50137 code). Without one: 待定 (unpublished),
    # 批而未供, internal (landmatch.inventory.validate.FALLBACK).
    land_use: str | None = None
    status: str | None = None
    visibility: str | None = None
    max_rows: int = 200_000
    # The file's headers the import does not know, each mapped to a known header (a field's
    # label, 面积(亩), 容积率 …) or to None (ignored): see landmatch.inventory.columns.
    columns: dict[str, str | None] | None = None
    # Up to this many written parcels, their derived data is settled inside the import's own
    # transaction; above it, after the commit (see landmatch.db.derived).
    settle_inline_max: int = 5_000

    @classmethod
    def within(cls, settings: Settings, **chosen: Any) -> ImportOptions:
        """What a caller chose (the API's form, the CLI's options), within the limits the
        settings set."""
        return cls(
            **chosen,
            max_rows=settings.max_import_rows,
            settle_inline_max=settings.import_settle_inline_max,
        )


def load_regions(conn: Connection) -> Regions:
    province, cities = load_regions_wkb(conn)
    return Regions(
        shapely.from_wkb(province),
        {k: shapely.from_wkb(v) for k, v in cities.items()},
        counties=tuple(
            County(code, name, city, shapely.from_wkb(wkb))
            for code, name, city, wkb in load_counties_wkb(conn)
        ),
    )


def restored_problems(conn: Connection, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What today's validation (:func:`check_frame`, the edit's and the import's) finds in
    the states a restore would write (``landmatch.db.inventory.restored_states``): a restore
    is an edit, so a state the edit path refuses (written before a rule existed, say) does not
    come back. Deleted states are not checked (nothing of them is offered or edited). Each
    problem: ``code``, ``field``, ``label``, ``reason``, parcels in the order given."""
    live = [s for s in states if s["deleted_at"] is None]
    if not live:
        return []
    frame = pd.DataFrame(
        [{k: s[k] for k in F.COLUMN_NAMES if k in s} | {"code": s["code"]} for s in live],
        index=[s["code"] for s in live],
        dtype=object,
    )
    checked = check_frame(
        frame,
        shapely.from_wkb(np.array([bytes(s["wkb"]) for s in live], dtype=object)),
        regions=load_regions(conn),
        existing={s["code"] for s in live},
    )
    return [
        {
            "code": p["row"],
            "field": p["field"],
            "label": F.label_of(p["field"]),
            "reason": p["reason"],
        }
        for p in checked.problems
    ]


def import_defaults(opts: ImportOptions) -> dict[str, str]:
    """The import's defaults as codes (field → code); :class:`InvalidInput` for an unknown one."""
    out: dict[str, str] = {}
    if opts.land_use is not None and opts.land_use.strip():
        code, note = land_use.read(opts.land_use)
        if code is None:
            raise InvalidInput(
                note or f"默认用途“{opts.land_use[:40]}”无法识别；请填写用地用海分类代码或名称"
            )
        out["land_use"] = code
    for name, given, words in (
        ("status", opts.status, vocab.PARCEL_STATUS),
        ("visibility", opts.visibility, vocab.VISIBILITY),
    ):
        if given is None or not given.strip():
            continue
        code = vocab.code_of(words, given)
        if code is None:
            choices = "、".join(f"{k}（{v}）" for k, v in words.items())
            raise InvalidInput(f"默认{F.label_of(name)}“{given[:40]}”无法识别；可选：{choices}")
        out[name] = code
    return out


def require_editor(principal: Principal, city: str | None = None) -> None:
    """An admin or a bureau; with ``city``, one that keeps that city's parcels (the scope of
    every parcel write by admins and bureaus: edits, restores, imports, rollbacks)."""
    principal.require("admin", "bureau")
    if city is not None and not principal.can_edit_city(city):
        raise Forbidden(f"无权编辑{vocab.CITIES.get(city, city)}的地块（超出本账号的城市范围）")


def _crs_label(crs: Any) -> str:
    return "GCJ-02" if crs == GCJ02 else f"EPSG:{crs}"


@dataclass
class _Source:
    """A file read and its columns mapped to parcel fields: the rows an import validates."""

    src: Any  # readers.Source
    mapped: Any  # columns.Mapped
    frame: pd.DataFrame
    prefix: str | None
    unusable: set[Any]  # rows whose code the prefix made unusable
    joined: Any  # boundaries.Joined, with a boundary file
    declared: Any  # declared areas (m²) per row, or None
    points_crs: Any  # the CRS of the table's lon/lat columns (src.points)


@dataclass
class _Tally:
    """What validating and writing found so far, batch after batch."""

    problems: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    decisions: dict[tuple[str, str], list[Any]]
    flattened: int = 0


def _check_options(principal: Principal, opts: ImportOptions) -> tuple[str | None, dict[str, str]]:
    """The options checked before anything is read: the code prefix (normalised) and the
    defaults for empty cells."""
    if opts.city is not None and opts.city not in vocab.CITIES:
        raise InvalidInput(f"导入时指定的城市“{opts.city[:20]}”：{vocab.unknown_city(opts.city)}")
    require_editor(principal, opts.city)
    if opts.reason is not None and len(opts.reason) > 500:
        raise InvalidInput("导入原因过长（最多 500 个字符）")
    return codes.check_prefix(opts.code_prefix), import_defaults(opts)


def _read(
    data: bytes,
    filename: str,
    opts: ImportOptions,
    prefix: str | None,
    boundaries: tuple[bytes, str] | None,
) -> _Source:
    read_opts = ReadOptions(crs=opts.crs, encoding=opts.encoding, max_rows=opts.max_rows)
    # With a boundary file, --crs is the boundaries' (a table's lon/lat are lon/lat).
    src = read_source(
        data, filename, read_opts if boundaries is None else replace(read_opts, crs=None)
    )
    if opts.columns:
        src.frame = apply_mapping(src.frame, opts.columns)
    mapped = map_columns(src.frame, src.header_row)
    frame = mapped.frame
    unusable = _apply_prefix(frame, prefix, src.row_problems)
    joined = None
    points_crs = src.crs  # the table's own, also when the boundaries bring theirs
    if boundaries is not None:
        joined = join_boundaries(src, frame, *boundaries, read_opts, prefix)
        src.geoms, src.crs = joined.geoms, joined.crs
        src.warnings += joined.notes
    # A TXT's 地块面积 is checked against the file's own coordinates by the parser (a warning
    # on the parcel's row, in 亩 and 公顷) and not stored: writers fill it with their own
    # computed area, which is not a declaration by the land office.
    declared = None if src.format == "txt" else src.declared_area_m2
    if declared is None:
        declared = mapped.area
    return _Source(src, mapped, frame, prefix, unusable, joined, declared, points_crs)


def _first_findings(source: _Source) -> _Tally:
    """What the file shows before its rows are validated: unreadable rows and columns, the
    readers' warnings, the column mapping's decisions."""
    src, frame = source.src, source.frame
    tally = _Tally(
        problems=[*src.row_problems, *source.mapped.problems],
        warnings=[
            {**w, "code": codes.code_text(frame.at[w["row"], "code"]) if "code" in frame else None}
            for w in src.row_warnings
        ],
        decisions=dict(source.mapped.decisions),
    )
    return tally


def _no_boundary(source: _Source, boundaries: tuple[bytes, str] | None) -> str:
    """Why a new parcel without a boundary is rejected, in this file's terms."""
    if boundaries is not None:
        return f"边界文件“{boundaries[1]}”中没有这个编号的地块，新地块需要边界"
    if source.src.points is not None:
        return NO_BOUNDARY_FROM_POINTS
    return "新地块缺少几何图形"


def _leaning_on_stored(frame: Any, known: set[str]) -> list[str]:
    """The stored parcels whose row gives a use or a transfer term and leaves the other to
    the stored value (a missing column, or a blank 用途, which keeps the stored one)."""
    if "code" not in frame or not known:
        return []
    given = {f: ~_blank_cells(frame[f]) if f in frame else None for f in LEASE_RULE_FIELDS}
    use, term = given["land_use"], given["lease_years"]
    if use is None and term is None:
        return []
    if use is None:
        need = term
    elif term is None:
        need = use
    else:
        need = term & ~use
    codes = frame["code"].astype(str).str.strip()
    return sorted(set(codes[need & codes.isin(known)]))


def _priced_on_stored(frame: Any, known: set[str]) -> list[str]:
    """The stored parcels whose row gives a 底价 or 成交价 (the minimum price rule reads the
    stored use, county, city and area where the row leaves them out)."""
    priced = [f for f in (min_price.RESERVE, min_price.SALE) if f in frame]
    if "code" not in frame or not known or not priced:
        return []
    given = ~_blank_cells(frame[priced[0]])
    for f in priced[1:]:
        given |= ~_blank_cells(frame[f])
    codes = frame["code"].astype(str).str.strip()
    return sorted(set(codes[given & codes.isin(known)]))


def _blank_cells(s: Any) -> Any:
    return s.isna() | s.astype(str).str.strip().eq("")


def _stored_out_of_scope(
    conn: Connection, principal: Principal, known: dict[str, int]
) -> dict[str, str]:
    """The stored parcels among ``known`` (code → id) that ``principal`` may not write, each
    with the reason (the parcel edit path's rule, :meth:`Principal.can_edit_parcel`, for the
    parcel as it is stored). Called inside the import's write transaction: the parcels are
    locked until its end, so none moves to another city or zone between this check and the
    write."""
    if not known:
        return {}
    # In id order, as every import locks them, so that two imports never wait on each other
    # crosswise. NO KEY UPDATE is the lock the import's UPDATE takes anyway.
    rows = conn.execute(
        text(
            "SELECT code, city_code, zone_id FROM landmatch.parcel WHERE id = ANY(:ids) "
            "ORDER BY id FOR NO KEY UPDATE"
        ),
        {"ids": sorted(known.values())},
    ).all()
    out: dict[str, str] = {}
    for code, city, zone_id in rows:
        if principal.can_edit_parcel(city, zone_id):
            continue
        if principal.can_edit_city(city):
            out[code] = f"已登记地块 {code} 超出本账号的开发区范围，无权编辑"
        else:
            name = vocab.CITIES.get(city, city)
            out[code] = (
                f"已登记地块 {code} 属于{name}，无权编辑{name}的地块（超出本账号的城市范围）"
            )
    return out


def _refuse_out_of_scope(
    batch: pd.DataFrame, checked: Any, refused: dict[str, str], tally: _Tally
) -> None:
    """Each row of ``batch`` naming a stored parcel of ``refused`` is rejected with its reason
    (also a row rejected for something else: every problem of a row is reported), and taken
    out of ``checked`` so that nothing of it is written."""
    if not refused or "code" not in batch:
        return
    hit = {
        row_number(label): code
        for label, code in zip(batch.index, map(codes.code_text, batch["code"]), strict=True)
        if code in refused
    }
    if not hit:
        return
    tally.problems += [
        {"row": row, "code": code, "field": "code", "reason": refused[code]}
        for row, code in hit.items()
    ]
    keep = np.array([row_number(r) not in hit for r in checked.rows], dtype=bool)
    if not keep.all():
        checked.values = checked.values[keep].reset_index(drop=True)
        checked.geoms = checked.geoms[keep]
        checked.rows = checked.rows[keep]


def _validate_and_write(
    conn: Connection,
    source: _Source,
    opts: ImportOptions,
    principal: Principal,
    writer: ParcelWriter,
    tally: _Tally,
    no_boundary: str,
    defaults: dict[str, str],
    progress: Progress | None,
    shapes: dict[Any, Any] | None,
    refused: dict[str, str],
) -> None:
    """Validate a batch, hand its accepted rows to the writer, validate the next while
    PostgreSQL inserts this one. With any row rejected the whole import is rolled back at the
    end; the other rows are written first all the same, so the report says what each would
    have done (the same report as a dry run)."""
    src, frame, mapped, declared = source.src, source.frame, source.mapped, source.declared
    known_codes = set(writer.known)
    regions = load_regions(conn)
    repeated = repeated_codes(frame["code"]) if "code" in frame else {}
    stored_pending = (
        pending_codes(conn, list(writer.known))
        if "visibility" in frame and "land_use" not in frame
        else set()
    )
    # The stored use and term of updated parcels, where the file gives one of them (the rule
    # between them, docs/domain.md §10).
    stored = stored_values(conn, _leaning_on_stored(frame, known_codes), LEASE_RULE_FIELDS)
    # ... and the stored use, county, city and area of updated parcels the file gives a price
    # of (the minimum price rule, docs/domain.md §10: a row without 用途 is checked against the
    # stored use).
    for code, kept in stored_values(
        conn, _priced_on_stored(frame, known_codes), PRICE_RULE_FIELDS
    ).items():
        stored.setdefault(code, {}).update(kept)
    wkt_rows = {p["row"] for p in src.row_problems if p["field"] == "geometry"}
    total = len(frame)
    for start, end in batches(total):
        checked = check_frame(
            frame.iloc[start:end],
            None if src.geoms is None else src.geoms[start:end],
            crs=src.crs,
            regions=regions,
            existing=known_codes,
            repair_geometry=opts.repair,
            default_city=opts.city,
            declared_area_m2=None if declared is None else declared[start:end],
            repeated=repeated,
            no_boundary=no_boundary,
            defaults=defaults,
            stored_pending=stored_pending,
            units=mapped.units,
            keep_missing_geometry=source.joined is not None,
            stored=stored,
        )
        if src.format == "txt" and source.prefix is None:
            _hint_file_codes(checked.problems)
        tally.problems += [
            p
            for p in checked.problems
            if not (p["row"] in wkt_rows and p["field"] == "geometry")
            and not (p["row"] in source.unusable and p["field"] == "code")
        ]
        tally.warnings += checked.warnings
        tally.flattened += checked.flattened
        for key, decided in checked.decisions.items():
            tally.decisions.setdefault(key, []).extend(decided)
        if progress:
            progress("validate", end, total)
        _refuse_out_of_scope(frame.iloc[start:end], checked, refused, tally)
        cities = set(checked.values["city_code"].dropna()) if len(checked.values) else set()
        outside = sorted(c for c in cities if not principal.can_edit_city(c))
        if outside:
            names = "、".join(vocab.CITIES.get(c, c) for c in outside)
            raise Forbidden(f"文件中含有超出本账号城市范围的地块（{names}），无权导入")
        writer.add(checked.values, checked.geoms, checked.rows)
        if shapes is not None:
            _keep_shapes(shapes, checked, src, start, end, frame.index)


def run_import(
    conn: Connection,
    data: bytes,
    filename: str,
    principal: Principal,
    opts: ImportOptions,
    progress: Progress | None = None,
    boundaries: tuple[bytes, str] | None = None,
    shapes: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """Import a file; return the report. Raises :class:`UnprocessableInput` (with the report
    as ``detail``) when any row (or a column) is rejected — then nothing is written.
    ``boundaries`` (data, file name): a boundary file joined by code to a table without
    boundaries (:mod:`landmatch.inventory.boundaries`). ``shapes``, when given, receives each
    row's boundary in EPSG:4490 by row number (the wizard's map of the file)."""
    prefix, defaults = _check_options(principal, opts)
    if progress:
        progress("read", 0, 1)
    source = _read(data, filename, opts, prefix, boundaries)
    src, frame = source.src, source.frame
    if progress:
        progress("read", 1, 1)
    file_codes = frame["code"].dropna().astype(str).str.strip().tolist() if "code" in frame else []
    known = existing_ids(conn, file_codes)
    tally = _first_findings(source)
    total = len(frame)
    deferred = opts.dry_run or total > opts.settle_inline_max
    reason = opts.reason or f"导入 {filename}"

    nested = conn.begin_nested()
    import_id = None
    actions: dict[str, str] = {}
    writer: ParcelWriter | None = None
    try:
        import_id = conn.execute(
            text(
                "INSERT INTO landmatch.import_batch (filename, format, actor, status) "
                "VALUES (:f, :fmt, :a, 'committed') RETURNING id"
            ),
            {"f": filename[:200], "fmt": src.format, "a": principal.actor},
        ).scalar_one()
        if deferred:
            derived.defer(conn)
        with audited(conn, principal.actor, reason, import_id=import_id):  # type: ignore[arg-type]
            # Before the writer opens its COPY (no other statement runs while it is open).
            refused = _stored_out_of_scope(conn, principal, known)
            was = _statuses(conn, known)
            if src.points is not None:
                # Only parcels the caller may write: a refused row says why, and nothing of
                # where another city's parcel lies.
                writable = {c: i for c, i in known.items() if c not in refused}
                tally.problems += _check_points(
                    conn, frame, src.points, source.points_crs, writable
                )
            written = [0]

            def on_write(k: int) -> None:
                written[0] += k
                if progress:
                    progress("write", written[0], total)

            writer = ParcelWriter(
                conn,
                known=known,
                import_id=import_id,
                actor=principal.actor,
                deferred=deferred,
                progress=on_write,
            )
            _validate_and_write(
                conn,
                source,
                opts,
                principal,
                writer,
                tally,
                _no_boundary(source, boundaries),
                defaults,
                progress,
                shapes,
                refused,
            )
            result = writer.finish()
            tally.warnings += _held_moved(conn, principal, was, frame, opts.dry_run)
        if deferred:
            derived.defer(conn, False)
        tally.problems += result.problems
        actions = result.actions
        overlaps, changes = _effects(conn, import_id, frame)
        tally.warnings += overlaps
    except BaseException as exc:
        if writer is not None:
            writer.abort(exc)
        nested.rollback()
        clash = writer.taken_meanwhile(exc) if writer is not None else None
        if clash is not None:
            raise clash from None
        raise
    notes = [flattened_note(tally.flattened)] if tally.flattened else []
    report = build_report(
        frame,
        actions,
        Findings(
            problems=order_problems(tally.problems, frame.index),
            warnings=tally.warnings,
            decisions=tally.decisions,
            notes=src.warnings + notes,
            columns=source.mapped.columns,
            changes=changes,
        ),
        filename=filename,
        format=src.format,
        crs=_crs_label(src.crs),
        code_prefix=prefix,
        dry_run=opts.dry_run,
    )
    problems = report["rejected"]
    if problems or opts.dry_run:
        nested.rollback()
        report["import_id"] = None
    else:
        report["import_id"] = import_id
        # "pending": the caller drains landmatch.db.derived after committing.
        report["derived"] = "pending" if deferred else "settled"
        conn.execute(
            text("UPDATE landmatch.import_batch SET report = CAST(:r AS jsonb) WHERE id = :id"),
            {"r": json.dumps(summary(report), ensure_ascii=False), "id": import_id},
        )
        nested.commit()
    if problems and not opts.dry_run:
        t = report["totals"]
        first = problems[0]
        what = f"{t['rejected']} 行未通过校验" if t["rejected"] else "表头有误"
        raise UnprocessableInput(
            f"导入被拒绝：{what}，未写入任何数据（首个问题：{where(first['row'])} "
            f"{F.label_of(first['field'])}：{first['reason']}）",
            detail=report,
        )
    return report


def _statuses(conn: Connection, known: dict[str, int]) -> dict[int, str]:
    """The stored status of the file's known parcels, by id (before the write)."""
    return dict(
        conn.execute(
            text("SELECT id, status FROM landmatch.parcel WHERE id = ANY(:ids)"),
            {"ids": list(known.values())},
        ).all()
    )


def _held_moved(
    conn: Connection, principal: Principal, was: dict[int, str], frame: Any, dry_run: bool
) -> list[dict[str, Any]]:
    """The written file's changes of held parcels' statuses (``was``: before the write): a
    warning on each one's row, and the end of the holds a new status ends
    (:func:`landmatch.match.holds.on_status_change`; a dry run says what the import would
    do, its writes rolled back)."""
    now: dict[int, str] = dict(
        conn.execute(
            text("SELECT id, status FROM landmatch.parcel WHERE id = ANY(:ids)"),
            {"ids": list(was)},
        ).all()
    )
    changes = {i: (s, now[i]) for i, s in was.items() if i in now and now[i] != s}
    if not changes:
        return []
    rows = {
        codes.code_text(code): label
        for label, code in zip(frame.index, frame.get("code", []), strict=False)
    }
    out = []
    for w in on_status_change(conn, principal, changes, planned=dry_run):
        out.append({"row": row_number(rows.get(w["code"], "")), **w})
    return out


def _keep_shapes(
    shapes: dict[Any, Any], checked: Any, src: Any, start: int, end: int, labels: Any
) -> None:
    """Each row's boundary in EPSG:4490 by row label: the checked one, else (a rejected row)
    the file's own where it converts."""
    for label, geom in zip(checked.rows, checked.geoms, strict=True):
        if geom is not None:
            shapes[row_number(label)] = geom
    if src.geoms is None:
        return
    for i in range(start, end):
        key = row_number(labels[i])
        if key in shapes or src.geoms[i] is None:
            continue
        try:
            shapes[key] = to_storage_array(np.array([src.geoms[i]], dtype=object), src.crs)[0]
        except Exception:  # noqa: BLE001 - a boundary that does not convert is not drawn
            continue


# Updated parcels whose changes (old → new) a report lists field by field.
CHANGES_SHOWN = 10_000
# Bookkeeping and derived columns a report does not list as changes.
_NOT_CHANGES = frozenset(
    {"import_id", "updated_by", "updated_at", "version", "area_m2", "zone_id", "created_at"}
)


def _effects(
    conn: Connection, import_id: int, frame: Any
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """What the written rows do to the stored inventory: a warning for each new parcel that
    overlaps a stored one (both codes), and each updated parcel's changes (old → new), by
    row label."""
    rows = {
        codes.code_text(code): label
        for label, code in zip(frame.index, frame.get("code", []), strict=False)
    }
    warnings = [
        {
            "row": row_number(rows.get(new, "")),
            "code": new,
            "field": "geometry",
            "message": f"与已登记地块 {other} 重叠 {m2:,.0f} 平方米（{mu(m2 / M2_PER_MU)} 亩）",
        }
        for new, other, m2 in overlaps_of_new(conn, import_id)
    ]
    changes: dict[str, list[dict[str, Any]]] = {}
    for code, changed, old, new in changes_of_updates(conn, import_id, CHANGES_SHOWN):
        items = []
        for col in changed:
            if col in _NOT_CHANGES:
                continue
            if col == "geom":
                before, after = old.get("area_m2"), new.get("area_m2")
                items.append(
                    {
                        "field": "geometry",
                        "label": "几何图形",
                        "old": f"面积 {_mu(before)}",
                        "new": f"面积 {_mu(after)}",
                    }
                )
            elif col == "deleted_at":
                items.append({"field": col, "label": "删除", "old": "已删除", "new": "恢复"})
            else:
                items.append(
                    {
                        "field": col,
                        "label": F.label_of(col),
                        "old": F.shown_value(col, old.get(col)),
                        "new": F.shown_value(col, new.get(col)),
                    }
                )
        changes[str(rows.get(code, code))] = items
    return warnings, changes


def _mu(m2: Any) -> str:
    return "（未知）" if m2 is None else f"{mu(float(m2) / M2_PER_MU, fixed=True)} 亩"


NO_BOUNDARY_FROM_POINTS = (
    "新地块需要边界：经纬度列只能核对已登记地块的位置，请提供 WKT 边界列（如“几何(WKT)”）"
    "或界址点坐标文件"
)
# A table's lon/lat may lie this far outside the parcel it names (a centre read off a map).
POINT_TOLERANCE_M = 50.0


def _check_points(
    conn: Connection, frame: Any, pts: np.ndarray, crs: Any, known: dict[str, int]
) -> list[dict[str, Any]]:
    """A table's lon/lat columns (``pts``, in ``crs``) name a location, not a boundary: each
    must lie in (or within :data:`POINT_TOLERANCE_M` of) the stored parcel of its code.
    Returns the problems."""
    problems: list[dict[str, Any]] = []
    codes = [None if pd.isna(c) else str(c).strip() for c in frame.get("code", [])]
    coords = shapely.get_coordinates(pts, include_z=False) if len(pts) else np.zeros((0, 2))
    finite = np.isfinite(shapely.get_x(pts)) & np.isfinite(shapely.get_y(pts))
    check: list[int] = []
    for i, c in enumerate(codes):
        if c is None or c not in known:
            continue
        if finite[i]:
            check.append(i)
        else:
            problems.append(_point_problem(frame, i, c, "经纬度不是有效的数字"))
    if not check:
        return problems
    stored = to_storage_array(pts[check], crs)
    converted = np.isfinite(shapely.get_coordinates(stored)).all(axis=1)
    for j in np.flatnonzero(~converted):
        problems.append(
            _point_problem(
                frame, check[j], codes[check[j]], "经纬度无法转换到 CGCS2000（坐标系不符）"
            )
        )
    check = [i for j, i in enumerate(check) if converted[j]]
    stored = stored[converted]
    far = distances_m(conn, [known[str(codes[i])] for i in check], stored)
    for k, i in enumerate(check):
        d = far[k]
        if d is not None and d > POINT_TOLERANCE_M:
            x, y = coords[i]
            problems.append(
                _point_problem(
                    frame,
                    i,
                    codes[i],
                    f"经纬度（{x:.6f}, {y:.6f}）不在已登记地块 {codes[i]} 的范围内"
                    f"（相距 {d:.0f} 米，允许 {POINT_TOLERANCE_M:.0f} 米）",
                )
            )
    return problems


def _point_problem(frame: Any, i: int, code: str | None, reason: str) -> dict[str, Any]:
    return {"row": row_number(frame.index[i]), "code": code, "field": "geometry", "reason": reason}


def _hint_file_codes(problems: list[dict[str, Any]]) -> None:
    """A TXT's 地块编号 is a number within the survey file: where one fails the code pattern,
    say how to import it (once per row)."""
    hinted: set[Any] = set()
    for p in problems:
        code = p.get("code")
        if p["field"] == "code" and code and not codes.is_code(code) and p["row"] not in hinted:
            p["reason"] += codes.TXT_HINT
            hinted.add(p["row"])


def _apply_prefix(frame: Any, prefix: str | None, problems: list[dict[str, Any]]) -> set[Any]:
    """Prefix the codes of ``frame`` in place; rows whose code has nothing usable get a
    problem in ``problems`` and are returned (their code is blanked, so nothing is written)."""
    if prefix is None or "code" not in frame:
        return set()
    unusable: set[Any] = set()
    out = []
    for label, value in zip(frame.index, frame["code"], strict=True):
        code = codes.with_prefix(value, prefix)
        if code is None and codes.code_text(value) is not None:
            unusable.add(row_number(label))
            problems.append(
                {
                    "row": row_number(label),
                    "code": codes.code_text(value),
                    "field": "code",
                    "reason": f"地块编号“{codes.code_text(value)}”中没有字母或数字，"
                    f"加前缀 {prefix} 后无法构成编号；请在文件中填写编号",
                }
            )
        out.append(code)
    frame["code"] = out
    return unusable


# What refers to a parcel and would go with it (ON DELETE CASCADE): work done since the import.
_USES = (
    ("landmatch.reservation", "预留"),
    ("landmatch.disposal_case", "处置案件"),
)


def _refuse_used(conn: Connection, parcel_ids: list[int]) -> None:
    """Refuse to undo the creation of parcels that were reserved or given a case since."""
    if not parcel_ids:
        return
    used = conn.execute(
        text(
            " UNION ALL ".join(
                f"SELECT p.code, '{what}' FROM {table} t JOIN landmatch.parcel p "
                "ON p.id = t.parcel_id WHERE t.parcel_id = ANY(:ids)"
                for table, what in _USES
            )
            + " ORDER BY 1"
        ),
        {"ids": parcel_ids},
    ).all()
    if used:
        listed = "、".join(f"{code}（{what}）" for code, what in used[:20])
        raise Conflict(
            f"以下地块在导入后已被使用，不能整体撤销：{listed}",
            detail=[{"code": code, "reason": f"导入后已有{what}"} for code, what in used],
        )


def _require_rollback_scope(
    principal: Principal, import_id: int, rows: Sequence[Any], restored: dict[int, str | None]
) -> None:
    """Refuse the whole rollback when it would write a parcel the caller may not: one that is
    now in another city, or one whose restored version is (a restore checks the same, with
    :func:`require_editor`: the rule is ``Principal.can_edit_city``). Each such parcel is
    named with the city and why."""
    refused: list[dict[str, Any]] = []
    for parcel_id, _v, _op, _cur, code, city in rows:
        back = restored.get(parcel_id)
        for which, c in (("now", city), ("restored", back)):
            if c is None or principal.can_edit_city(c):
                continue
            name = vocab.CITIES.get(c, c)
            reason = f"现属{name}" if which == "now" else f"撤销后将恢复为{name}的地块"
            refused.append({"code": code, "city_code": c, "reason": reason})
            break
    if refused:
        refused.sort(key=lambda d: d["code"])
        cities = "、".join(
            sorted({vocab.CITIES.get(d["city_code"], d["city_code"]) for d in refused})
        )
        listed = "、".join(f"{d['code']}（{d['reason']}）" for d in refused[:20])
        more = f" 等 {len(refused):,} 宗" if len(refused) > 20 else ""
        raise Forbidden(
            f"无权撤销导入批次 #{import_id}：撤销会改写{cities}的地块（超出本账号的城市范围），"
            f"未做任何更改。涉及地块：{listed}{more}",
            detail=refused,
        )


def _refuse_invalid(conn: Connection, import_id: int, version_ids: list[int]) -> None:
    """Refuse a rollback that would bring back a state today's validation refuses
    (:func:`restored_problems`), naming each parcel, field and reason; nothing is written."""
    problems = restored_problems(conn, restored_states(conn, version_ids))
    if not problems:
        return
    listed = "、".join(f"{p['code']}（{p['label']}：{p['reason']}）" for p in problems[:20])
    more = f" 等 {len(problems):,} 处" if len(problems) > 20 else ""
    raise UnprocessableInput(
        f"不能撤销导入批次 #{import_id}：以下地块导入前的数据不符合现行校验规则，撤销会把它们"
        f"恢复为该状态，未做任何更改。问题：{listed}{more}。如需更正，请逐宗修改这些地块",
        detail=[{k: p[k] for k in ("code", "field", "reason")} for p in problems],
    )


def rollback_import(
    conn: Connection, import_id: int, principal: Principal, reason: str | None = None
) -> dict[str, Any]:
    """Undo a whole import in one step: parcels it created are deleted (their codes free
    again, their history kept), parcels it changed go back to their previous version. Refused
    when a parcel changed, or a created one was reserved or given a case, since."""
    require_editor(principal)
    batch = conn.execute(
        text("SELECT status FROM landmatch.import_batch WHERE id = :id FOR UPDATE"),
        {"id": import_id},
    ).first()
    if batch is None:
        raise NotFound(f"未找到导入批次 #{import_id}")
    if batch[0] != "committed":
        raise Conflict(f"导入批次 #{import_id} 的状态为 {batch[0]}，不能撤销")
    rows = conn.execute(
        text(
            "SELECT v.parcel_id, v.version, v.op, p.version, p.code, p.city_code "
            "FROM landmatch.parcel_version v JOIN landmatch.parcel p ON p.id = v.parcel_id "
            # Locked (in id order, as imports lock them) until the rollback commits: the
            # version, scope and use checks below hold for the rows it then writes. FOR UPDATE,
            # as it conflicts with the key share a new reservation's or case's foreign key
            # takes: one made while the rollback runs either committed before this lock (and
            # _refuse_used refuses) or waits and then finds its parcel gone.
            "WHERE v.import_id = :id ORDER BY p.id FOR UPDATE OF p"
        ),
        {"id": import_id},
    ).all()
    later = sorted(r[4] for r in rows if r[3] > r[1])
    if later:
        raise Conflict(
            f"以下地块在导入后又被修改，不能整体撤销：{'、'.join(later[:20])}",
            detail=[{"code": c, "reason": "导入后已被修改"} for c in later],
        )
    created = [r[0] for r in rows if r[2] == "insert"]
    changed = [(r[0], r[1]) for r in rows if r[2] != "insert"]
    # The versions the changed parcels go back to (the one before the import's), with the
    # city each one restores.
    previous = (
        conn.execute(
            text(
                "SELECT DISTINCT ON (v.parcel_id) v.id, v.parcel_id, v.row ->> 'city_code' "
                "FROM landmatch.parcel_version_full v "
                "JOIN unnest(CAST(:pids AS bigint[]), CAST(:vers AS int[])) AS t(pid, ver) "
                "ON v.parcel_id = t.pid AND v.version < t.ver "
                "ORDER BY v.parcel_id, v.version DESC, v.id DESC"
            ),
            {"pids": [c[0] for c in changed], "vers": [c[1] for c in changed]},
        ).all()
        if changed
        else []
    )
    # Who passes this scope check may also read and write the confidential fields of every
    # parcel the rollback restores (landmatch.confidential.may_read: the same cities).
    _require_rollback_scope(principal, import_id, rows, {r[1]: r[2] for r in previous})
    _refuse_used(conn, created)
    _refuse_invalid(conn, import_id, [r[0] for r in previous])
    why = reason or f"撤销导入 #{import_id}"
    with audited(conn, principal.actor, why):  # type: ignore[arg-type]
        if created:
            # The parcels the import created go, and their codes are free again: a later
            # import of one creates a new parcel (not a restore of this one with fields the
            # new file never had). Their history stays in parcel_version, the last state in a
            # 'delete' version (migration 0010_write_path).
            conn.execute(
                text("DELETE FROM landmatch.parcel_dirty WHERE parcel_id = ANY(:ids)"),
                {"ids": created},
            )
            conn.execute(
                text("DELETE FROM landmatch.parcel WHERE id = ANY(:ids)"), {"ids": created}
            )
        if previous:
            restore_versions(conn, [r[0] for r in previous], undelete=False)
    conn.execute(
        text("UPDATE landmatch.import_batch SET status = 'rolled_back' WHERE id = :id"),
        {"id": import_id},
    )
    return {
        "import_id": import_id,
        "status": "rolled_back",
        "deleted": len(created),
        "restored": len(previous),
    }

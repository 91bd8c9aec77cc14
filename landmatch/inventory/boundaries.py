"""A table without boundaries (the bureau's Excel 清单) joined by parcel code to a boundary
file (a 界址点 TXT, a Shapefile zip, a GeoPackage or GeoJSON): two files, one import.

The table gives the attributes, the boundary file the geometry of each code; nothing else of
the boundary file is read. A row whose code has no boundary keeps its stored geometry (an
existing parcel) or is refused (a new one); a boundary whose code has no row is reported and
not imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landmatch.errors import FormatError, InvalidInput
from landmatch.geo.crs import CrsCode
from landmatch.inventory import codes
from landmatch.inventory.columns import map_columns
from landmatch.inventory.readers import ReadOptions, Source, read_source


@dataclass
class Joined:
    geoms: np.ndarray  # one per row of the table; None where the file has no boundary
    crs: CrsCode
    notes: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    missing: set[Any] = field(default_factory=set)  # row labels without a boundary


def join_boundaries(
    table: Source,
    frame: pd.DataFrame,
    data: bytes,
    filename: str,
    opts: ReadOptions,
    prefix: str | None,
) -> Joined:
    """The geometry of each row of ``frame`` (the table, columns mapped) from the boundary file
    ``data``, matched by parcel code (``prefix`` applied to the boundary codes as to the
    table's)."""
    if table.geoms is not None:
        raise InvalidInput(
            "主文件已含边界（几何图形），不能再附边界文件；边界文件只用于没有边界的清单（如 Excel）"
        )
    if "code" not in frame:
        raise InvalidInput("清单中没有地块编号列，无法与边界文件按编号对应")
    shapes = read_source(data, filename, opts)
    if shapes.geoms is None:
        raise FormatError(f"边界文件“{filename}”中没有几何图形（边界）")
    bframe = map_columns(shapes.frame).frame
    if "code" not in bframe:
        raise FormatError(f"边界文件“{filename}”中没有地块编号（地块编号/code 列），无法按编号对应")
    names = [codes.with_prefix(v, prefix) if prefix else codes.code_text(v) for v in bframe["code"]]
    out = Joined(geoms=np.full(len(frame), None, dtype=object), crs=shapes.crs)
    out.notes += [f"边界文件：{w}" for w in shapes.warnings]
    where: dict[str, int] = {}
    for k, name in enumerate(names):
        if name is None:
            continue
        if name in where:
            raise FormatError(
                f"边界文件“{filename}”中地块编号“{name}”出现多次（第 {bframe.index[where[name]]} "
                f"与第 {bframe.index[k]} 行），无法确定边界"
            )
        where[name] = k
    used: set[str] = set()
    for i, (label, value) in enumerate(zip(frame.index, frame["code"], strict=True)):
        code = codes.code_text(value)
        found = where.get(code) if code is not None else None
        if found is None:
            out.missing.add(label)
            continue
        out.geoms[i] = shapes.geoms[found]
        used.add(code)  # type: ignore[arg-type]
    extra = [n for n in where if n not in used]
    if extra:
        shown = "、".join(extra[:20]) + (f" 等 {len(extra)} 个" if len(extra) > 20 else "")
        out.notes.append(f"边界文件中以下地块在清单中没有对应行，未导入：{shown}")
    return out

"""Reading import files: GeoJSON, GeoPackage, zipped Shapefile, 界址点 TXT, Excel and CSV.

Each reader returns a :class:`Source`: raw attribute columns (original headers), geometries in
the file's CRS and that CRS (from the file, ``--crs``, or the coordinates themselves). Archives
are unpacked defensively (size, ratio, entry count, paths, links).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import stat
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from openpyxl.utils import get_column_letter
from pyogrio.errors import DataSourceError

from landmatch.errors import CRSError, FormatError, PayloadTooLarge
from landmatch.geo.crs import (
    GCJ02,
    STORAGE_EPSG,
    WGS84_EPSG,
    CrsCode,
    crs_from_wkt,
    gk_epsg,
    parse_crs,
)
from landmatch.geo.dbf import cpg_encoding, dbf_encoding
from landmatch.geo.messages import csv_zh, gdal_zh, geos_zh, json_zh
from landmatch.geo.txt import parse_txt
from landmatch.inventory import fields as F
from landmatch.inventory import land_use
from landmatch.inventory.formats import detect_format, utf8_json
from landmatch.inventory.sheets import Table, read_table

# 3-D geographic CRSs → the 2-D ones (WGS 84, CGCS2000).
GEOGRAPHIC_2D = {4979: WGS84_EPSG, 4480: STORAGE_EPSG}
MAX_ZIP_ENTRIES = 200
MAX_ZIP_RATIO = 100  # uncompressed / compressed, per entry above 1 MB
# Messages name the options as every front end shows them (the wizard's 坐标系 and 字符编码,
# the API's fields, the CLI's flags), never one front end's spelling.
CRS_HINT = (
    "请指定坐标系：河北的 CGCS2000 3° 带第 38、39、40 带，横坐标带带号（8 位）为 "
    "EPSG:4526、4527、4528，不带带号（6 位）为 EPSG:4547、4548、4549（中央经线 114°、117°、"
    "120°）；经纬度为 EPSG:4490"
)


@dataclass
class Source:
    frame: pd.DataFrame  # raw attributes, original headers; index = row labels
    geoms: np.ndarray | None
    crs: CrsCode
    format: str
    warnings: list[str] = field(default_factory=list)
    row_problems: list[dict[str, Any]] = field(default_factory=list)
    declared_area_m2: np.ndarray | None = None
    # Lon/lat (or x/y) columns of a table: a location to check a stored parcel against, not a
    # boundary (a point cannot be a parcel); in ``crs``, like ``geoms``.
    points: np.ndarray | None = None
    # Where the column headers are, as problems with a header name it ("表头（第 4 行）").
    header_row: Any = "表头"
    # Warnings about single rows (row, code, field, message), e.g. a TXT parcel's area.
    row_warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReadOptions:
    crs: str | None = None
    encoding: str | None = None
    max_rows: int = 200_000
    max_unpacked_bytes: int = 2 * 1024**3


# --------------------------------------------------------------------------- archives


def check_archive(data: bytes, max_bytes: int) -> zipfile.ZipFile:
    """The zip's directory checked without unpacking anything: entry count, absolute or parent
    paths, links, total declared size and per-entry compression ratio (zip bombs). Used for
    every uploaded zip, xlsx included (``landmatch.inventory.uploads``)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FormatError("压缩包已损坏或不完整（无法读取 zip 目录）") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FormatError(f"压缩包内文件过多（{len(infos)} 个，上限 {MAX_ZIP_ENTRIES}）")
    total = 0
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or ":" in name:
            raise FormatError(f"压缩包内含不安全的路径“{name}”，已拒绝")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise FormatError(f"压缩包内含符号链接“{name}”，已拒绝")
        total += info.file_size
        if total > max_bytes:
            raise FormatError("压缩包解压后过大，疑似压缩炸弹，已拒绝")
        if info.file_size > 1024**2 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise FormatError(f"压缩包内“{name}”压缩比异常（疑似压缩炸弹），已拒绝")
    return zf


def safe_extract(data: bytes, dest: Path, max_bytes: int) -> list[Path]:
    """Unpack a zip into ``dest`` refusing bombs, absolute or parent paths and links."""
    zf = check_archive(data, max_bytes)
    out: list[Path] = []
    for info in zf.infolist():
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if info.is_dir() or _finder_junk(pure):
            continue
        target = dest / pure.name  # flatten: shapefile parts belong together
        written = 0
        try:
            with zf.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size or written > max_bytes:
                        raise FormatError("压缩包内文件大小与目录不符，疑似压缩炸弹，已拒绝")
                    dst.write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, zlib_error()) as exc:
            raise FormatError(
                f"压缩包已损坏或不完整（“{name}”无法解压：{type(exc).__name__}）"
            ) from None
        out.append(target)
    return out


def _finder_junk(path: PurePosixPath) -> bool:
    """What macOS Finder adds to a zip it makes: the ``__MACOSX/`` folder of resource forks
    (``._name`` beside each file, which would read as a second ``.shp``) and ``.DS_Store``."""
    return "__MACOSX" in path.parts or path.name.startswith("._") or path.name == ".DS_Store"


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


# --------------------------------------------------------------------------- CRS


def _coords(geoms: np.ndarray | None) -> np.ndarray:
    if geoms is None:
        return np.zeros((0, 2))
    valid = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not valid.any():
        return np.zeros((0, 2))
    coords = shapely.get_coordinates(geoms[valid])
    return coords[np.isfinite(coords).all(axis=1)]


def resolve_crs(
    geoms: np.ndarray | None, declared: int | None, override: str | None, warnings: list[str]
) -> CrsCode:
    """The CRS of ``geoms``: ``--crs``, else the file's own (unless it claims lon/lat and the
    numbers are plainly projected), else lon/lat by range, else Gauss–Krüger with a zone
    prefix. Anything else is ambiguous and refused with a hint to use ``--crs``."""
    if override:
        return parse_crs(override)
    coords = _coords(geoms)
    if not len(coords):
        return declared or STORAGE_EPSG  # nothing to look at; geometry checks will reject
    x0, y0 = coords.min(axis=0)
    x1, y1 = coords.max(axis=0)
    geographic = x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90
    if declared and declared not in (WGS84_EPSG, STORAGE_EPSG):
        return declared
    if geographic or (x0 >= -90 and x1 <= 90 and y0 >= -180 and y1 <= 180):
        return STORAGE_EPSG  # lon/lat (or swapped: the per-row checks say so)
    xs = coords[:, 0]
    if (xs >= 1e7).all() and (xs < 1e8).all():
        zones = np.unique((xs // 1e6).astype(int))
        if len(zones) > 1:
            raise CRSError(
                f"坐标的带号前缀不一致（{', '.join(map(str, zones))}），同一文件不能混用投影带；"
                + CRS_HINT
            )
        zone = int(zones[0])
        if not 25 <= zone <= 45:
            raise CRSError(f"带号前缀 {zone} 不是有效的 3° 带（25–45）；" + CRS_HINT)
        epsg = gk_epsg(zone, prefixed=True)
        warnings.append(
            f"文件未声明坐标系，按横坐标带号前缀判定为 CGCS2000 3° 带第 {zone} 带（EPSG:{epsg}）"
        )
        return epsg
    raise CRSError("无法确定坐标系：坐标不是经纬度，也没有带号前缀或坐标系定义。" + CRS_HINT)


def _declared_epsg(crs_text: str | None) -> int | None:
    if not crs_text:
        return None
    try:
        code = parse_crs(crs_text)
        return code if isinstance(code, int) else None
    except CRSError:
        pass
    try:
        return crs_from_wkt(crs_text)
    except CRSError:
        return None


# --------------------------------------------------------------------------- readers


def _check_rows(n: int, opts: ReadOptions) -> None:
    if n > opts.max_rows:
        raise PayloadTooLarge(
            f"文件包含 {n} 条记录，超过单次导入上限 {opts.max_rows} 条；请拆分后分批导入",
        )
    if n == 0:
        raise FormatError("文件中没有任何地块记录")


_FORMAT_NAMES = {"gpkg": "GeoPackage", "geojson": "GeoJSON", "shp": "Shapefile"}


def _read_ogr(
    path: Path,
    fmt: str,
    opts: ReadOptions,
    shown: str,
    encoding: str | None = None,
    prj_epsg: int | None = None,
) -> Source:
    """Read ``path`` (a server temp file); GDAL's messages name ``shown``, the user's file."""
    label = _FORMAT_NAMES.get(fmt, fmt)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - GDAL's own error text
        raise FormatError(
            f"无法读取 {label} 文件（文件损坏或格式不符）：{_gdal_message(exc, shown, label)}"
        ) from None
    if len(layers) == 0:
        raise FormatError("文件中没有图层")
    if len(layers) > 1 and fmt == "gpkg":
        names = [str(x[0]) for x in layers]
        raise FormatError(f"GeoPackage 含多个图层（{'、'.join(names)}），请只保留一个地块图层")
    try:
        info = pyogrio.read_info(path, encoding=encoding)
        _check_rows(int(info.get("features") or 0), opts)
        df = _read_frame(path, fmt, encoding)
    except (FormatError, PayloadTooLarge):
        raise
    except UnicodeDecodeError as exc:  # pyogrio decodes names and values with ``encoding``
        raise FormatError(
            f"{label} 的属性表无法按 {encoding or exc.encoding} 解码（字段名或属性值用的是其他编码）；"
            "请指定正确的字符编码（如 GBK 或 UTF-8）"
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise FormatError(
            f"无法读取 {label} 文件（文件损坏或格式不符）：{_gdal_message(exc, shown, label)}"
        ) from None
    _check_rows(len(df), opts)
    geoms = np.asarray(
        df.geometry.to_numpy() if "geometry" in df else [None] * len(df), dtype=object
    )
    frame = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore"))
    frame.index = np.arange(1, len(frame) + 1)
    declared = prj_epsg
    if declared is None and df.crs is not None:
        declared = df.crs.to_epsg() or _declared_epsg(df.crs.to_wkt())
    # Heights are dropped (parcels are planar): a 3-D geographic CRS is its 2-D one. GDAL
    # gives a GeoJSON with heights and no "crs" EPSG:4979, without heights EPSG:4326, and
    # OGC:CRS84h no EPSG code at all.
    declared = GEOGRAPHIC_2D.get(declared, declared) if declared is not None else None
    warnings: list[str] = []
    if fmt == "geojson" and declared == WGS84_EPSG:
        declared = None  # the GeoJSON default (RFC 7946: CRS84); the coordinates decide
    crs = resolve_crs(geoms, declared, opts.crs, warnings)
    return Source(frame=frame, geoms=geoms, crs=crs, format=fmt, warnings=warnings)


def _read_frame(path: Path, fmt: str, encoding: str | None) -> Any:
    """The layer as a GeoDataFrame. GeoPackage and GeoJSON are UTF-8 by their specifications
    and are read column-wise through Arrow (several times faster); a file that is not UTF-8
    after all, or a shapefile (whose encoding GDAL resolves from the .cpg or ``encoding``),
    goes through pyogrio's row reader, which reports a bad encoding by field."""
    if fmt in ("gpkg", "geojson") and encoding is None:
        try:
            return pyogrio.read_dataframe(path, fid_as_index=False, use_arrow=True)
        except DataSourceError as exc:
            if "UTF-8" not in str(exc):
                raise
    return pyogrio.read_dataframe(path, encoding=encoding, fid_as_index=False)


def _gdal_message(exc: Exception, shown: str, label: str) -> str:
    """GDAL's error about a server temp file, in Chinese, naming the user's file ``shown``
    (``x.gpkg``; ``x.zip/p.shp`` for a member of a zip)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return gdal_zh(text, shown, label)


def _read_shapefile_zip(data: bytes, filename: str, tmp: Path, opts: ReadOptions) -> Source:
    files = safe_extract(data, tmp, opts.max_unpacked_bytes)
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    if not shps:
        raise FormatError("压缩包中没有 .shp 文件")
    if len(shps) > 1:
        raise FormatError(
            f"压缩包中有多个 .shp 图层（{'、'.join(f.name for f in shps)}），请一次只导入一个"
        )
    shp = shps[0]
    siblings = {f.suffix.lower(): f for f in files if f.stem.lower() == shp.stem.lower()}
    for ext, what in ((".shx", "索引文件 .shx"), (".dbf", "属性表 .dbf")):
        if ext not in siblings:
            raise FormatError(f"Shapefile 不完整：缺少{what}（{shp.stem}{ext}）")
    prj_epsg = None
    prj = (
        siblings[".prj"].read_bytes().decode("utf-8", errors="replace")
        if ".prj" in siblings
        else ""
    )
    if prj.strip().lstrip("\ufeff") and not opts.crs:  # a chosen CRS wins; an empty .prj is none
        try:
            prj_epsg = crs_from_wkt(prj)
        except CRSError:
            raise CRSError(".prj 中的坐标系定义无法解析（不是有效的 WKT）；" + CRS_HINT) from None
        if prj_epsg is None:
            raise CRSError(".prj 中的坐标系无法识别；" + CRS_HINT)
    if ".prj" in siblings and (opts.crs or not prj_epsg):
        siblings[".prj"].unlink()  # not GDAL's to read either
    # --encoding, else the .cpg, else the DBF's language driver id, else detection.
    encoding = opts.encoding
    if not encoding and ".cpg" in siblings:
        encoding = cpg_encoding(siblings[".cpg"].read_text("ascii", errors="replace"))
    if not encoding:
        encoding = dbf_encoding(siblings[".dbf"].read_bytes())
    try:
        "".encode(encoding)  # LookupError also for codecs that are not text encodings
    except LookupError:
        raise FormatError(f"未知的字符编码“{encoding}”") from None
    shown = f"{filename}/{shp.name}"
    return _read_ogr(shp, "shp", opts, shown, encoding=encoding, prj_epsg=prj_epsg)


def decode_text(data: bytes, encoding: str | None) -> str:
    """Decode text: the given encoding, else UTF-8 (BOM stripped), else GB18030."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise FormatError(f"未知的字符编码“{encoding}”") from None
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"无法按 {encoding} 解码文件（第 {exc.start + 1} 字节起不是有效的 {encoding} 编码）；"
                "请检查所选的字符编码，或不指定让系统自动识别"
            ) from None
    return data.decode(text_encoding(data))


def text_encoding(data: bytes) -> str:
    """The encoding a text file is read with when none is given: UTF-16 when it starts with
    its byte-order mark, else UTF-8 (BOM allowed), else GB18030 (a superset of GBK);
    :class:`FormatError` when it is none of them."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(
        codecs.BOM_UTF32_LE
    ):
        encodings: tuple[str, ...] = ("utf-16",)  # Excel's "Unicode 文本" (the BOM says which)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for enc in encodings:
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    raise FormatError(
        "文件编码无法识别（既不是 UTF-8 也不是 GBK/GB18030，或混用了多种编码）；请指定字符编码"
    )


def _geometry_columns(frame: pd.DataFrame, opts: ReadOptions) -> Source:
    headers = list(frame.columns)
    wkt = [h for h in headers if F.is_geometry_header(h)]
    lon = [h for h in headers if F.is_lon_header(h)]
    lat = [h for h in headers if F.is_lat_header(h)]
    n = len(frame)
    problems: list[dict[str, Any]] = []
    if wkt:
        col = frame[wkt[0]]
        texts = col.to_numpy(dtype=object)
        geoms = np.full(n, None, dtype=object)
        for i, t in enumerate(texts):
            if t is None or (isinstance(t, float) and np.isnan(t)) or not str(t).strip():
                continue
            try:
                geoms[i] = shapely.from_wkt(str(t))
            except Exception as exc:  # noqa: BLE001 - GEOS parse error
                zh = geos_zh(str(exc)) or "格式错误"
                problems.append(
                    {
                        "row": int(frame.index[i]),
                        "code": None,
                        "field": "geometry",
                        "reason": f"WKT 无法解析：{zh}",
                    }
                )
        frame = frame.drop(columns=wkt)
    elif lon and lat:
        x = pd.to_numeric(frame[lon[0]], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(frame[lat[0]], errors="coerce").to_numpy(dtype=float)
        points = shapely.points(x, y)
        frame = frame.drop(columns=[lon[0], lat[0]])
        notes: list[str] = []
        crs = resolve_crs(points, None, opts.crs, notes)
        return Source(
            frame=frame,
            geoms=None,
            crs=crs,
            format="",
            warnings=notes,
            row_problems=problems,
            points=points,
        )
    else:
        geoms = None
    warnings: list[str] = []
    crs = (
        resolve_crs(geoms, None, opts.crs, warnings)
        if geoms is not None
        else (parse_crs(opts.crs) if opts.crs else STORAGE_EPSG)
    )
    return Source(
        frame=frame, geoms=geoms, crs=crs, format="", warnings=warnings, row_problems=problems
    )


def _read_csv(data: bytes, opts: ReadOptions) -> Source:
    text = decode_text(data, opts.encoding)
    # Excel saves "Unicode 文本" (UTF-16) and "文本文件（制表符分隔）" with tabs.
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    sep = "\t" if "\t" in first and "," not in first else ","
    try:
        with warnings.catch_warnings():
            # A row longer than the header: pandas would drop its tail (or, without
            # index_col=False, shift every column by one) with only a warning.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        raise FormatError(f"CSV 格式错误：{_long_row(text, sep)}") from None
    except Exception as exc:  # noqa: BLE001 - pandas parser errors
        raise FormatError(f"CSV 格式错误：{csv_zh(str(exc))}") from None
    _check_rows(len(frame), opts)
    frame.index = np.arange(2, len(frame) + 2)  # spreadsheet row numbers (header is row 1)
    src = _geometry_columns(frame, opts)
    src.format = "csv"
    src.header_row = "表头（第 1 行）"
    return src


def _long_row(text: str, sep: str = ",") -> str:
    """Which row of a CSV has more columns than its header."""
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    width = len(next(rows, []))
    for line, row in enumerate(rows, start=2):
        if len(row) > width:
            return (
                f"第 {line} 行有 {len(row)} 列，而表头只有 {width} 列（文本中的逗号是否未加引号？）"
            )
    return "有的行比表头的列多"


def _read_xlsx(data: bytes, tmp: Path, opts: ReadOptions) -> Source:
    import openpyxl

    safe_extract(data, tmp, opts.max_unpacked_bytes)  # the same bomb checks as any zip
    try:
        # Read-only: the sheets are parsed from their XML as the table reads them, never
        # built cell by cell from the sizes they declare (a 5 KB file may declare a merged
        # range of millions of cells; landmatch.inventory.sheets).
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl's many ways of failing on a bad file
        raise FormatError("无法读取 Excel 文件：文件已损坏，或不是有效的 xlsx 工作簿") from None
    try:
        table = read_table(wb)
    except (FormatError, PayloadTooLarge):
        raise
    except Exception:  # noqa: BLE001 - a sheet's XML openpyxl cannot parse
        raise FormatError("无法读取 Excel 文件：工作表已损坏，或不是有效的 xlsx 工作簿") from None
    finally:
        wb.close()
    _check_rows(len(table.rows), opts)
    frame = pd.DataFrame(table.rows, columns=table.headers, dtype=object)
    frame.index = np.array(table.labels, dtype=np.int64)
    src = _geometry_columns(frame, opts)
    src.format = "xlsx"
    src.header_row = table.header_row
    if table.skipped:
        shown = "、".join(f"第 {r} 行（{why}）" for r, why in table.skipped[:10])
        src.warnings.append(f"工作表“{table.sheet}”中以下行不是地块，未导入：{shown}")
    if table.uncached:
        _warn_uncached(src, table)
    return src


UNCACHED = "是公式，但文件中没有保存计算结果，已按空值读取；请在 Excel 中打开并保存后再导入"
# Rows whose formula cells a report names one by one (the note counts them all).
UNCACHED_ROWS = 1_000


def _warn_uncached(src: Source, table: Table) -> None:
    """Formula cells without a saved result (a workbook written by a program and never
    opened in Excel): a note for the file, a warning on each parcel's row naming its column."""
    cells = [f"{get_column_letter(c)}{r}" for r, c, _h in table.uncached]
    shown = "、".join(cells[:10]) + ("…" if len(cells) > 10 else "")
    src.warnings.append(f"工作表“{table.sheet}”中有 {len(cells)} 个单元格（{shown}）{UNCACHED}")
    in_rows = [(r, c, h) for r, c, h in table.uncached if h is not None][:UNCACHED_ROWS]
    for r, c, header in in_rows:
        src.row_warnings.append(
            {
                "row": r,
                "code": None,
                "field": F.field_for_header(header) or header,
                "message": f"单元格 {get_column_letter(c)}{r}（{header}）{UNCACHED}",
            }
        )


def _read_txt(data: bytes, opts: ReadOptions) -> Source:
    parsed = parse_txt(data, crs=opts.crs, encoding=opts.encoding)
    _check_rows(len(parsed.parcels), opts)
    rows = [p.line or i + 1 for i, p in enumerate(parsed.parcels)]
    frame = pd.DataFrame(
        {
            "code": [p.code for p in parsed.parcels],
            "name": [p.name for p in parsed.parcels],
            # 地块用途, else a 地类编码 (0601 …) when that is what the surveyor filled in.
            "land_use": [_txt_use(p.use, p.land_class) for p in parsed.parcels],
        },
        index=rows,
    )
    declared = np.array(
        [p.declared_area_ha * 10000 if p.declared_area_ha else np.nan for p in parsed.parcels]
    )
    return Source(
        frame=frame,
        geoms=np.array([p.geometry for p in parsed.parcels], dtype=object),
        crs=parsed.epsg,
        format="txt",
        warnings=list(parsed.file_warnings),
        declared_area_m2=declared,
        row_warnings=[
            {"row": row, "code": p.code or None, "field": "geometry", "message": note}
            for row, p in zip(rows, parsed.parcels, strict=True)
            for note in p.notes
        ],
    )


def _txt_use(use: str, land_class: str) -> str | None:
    if use.strip():
        return use
    if land_class.strip() and land_use.read(land_class)[0] is not None:
        return land_class
    return None


def read_source(data: bytes, filename: str, opts: ReadOptions) -> Source:
    """Read an import file of any supported format (judged by content, then extension)."""
    fmt, warning = detect_format(filename, data)
    src = _read(data, filename, fmt, opts)
    if warning:
        src.warnings.insert(0, warning)
    return src


def _read(data: bytes, filename: str, fmt: str, opts: ReadOptions) -> Source:
    if opts.crs and fmt == "txt" and parse_crs(opts.crs) == GCJ02:
        raise CRSError("界址点坐标 TXT 文件不能使用 GCJ-02 坐标系")
    with tempfile.TemporaryDirectory(prefix="lm-import-") as d:
        tmp = Path(d)
        if fmt == "txt":
            return _read_txt(data, opts)
        if fmt == "csv":
            return _read_csv(data, opts)
        if fmt == "xlsx":
            return _read_xlsx(data, tmp, opts)
        if fmt == "shp":
            return _read_shapefile_zip(data, filename, tmp, opts)
        suffix = ".gpkg" if fmt == "gpkg" else ".geojson"
        path = tmp / f"upload{suffix}"
        if fmt == "geojson":
            data = utf8_json(data)  # a BOM, or UTF-16 as Windows tools save it
            try:
                json.loads(decode_text(data, "utf-8"))
            except ValueError as exc:
                raise FormatError(f"GeoJSON 不是有效的 JSON：{json_zh(exc)}") from None
            except RecursionError:
                raise FormatError("GeoJSON 嵌套层级过深，不是有效的要素文件") from None
        path.write_bytes(data)
        return _read_ogr(path, fmt, opts, filename)

"""The one guarded path every uploaded file takes (parcel, policy, layer and zone-boundary
imports), and the CLI's file reads too.

:func:`receive` (endpoints): one value per form field, the size cap (413 as soon as it is
passed; ``landmatch.api.limits.BodyLimitMiddleware`` refuses an oversized request before it is even parsed), then
:func:`checked`. :func:`read_file` (CLI): the same :func:`checked`, without the size cap (the
operator's own files on the server). :func:`checked`: a safe file name (no directories, no
control characters), the content's type sniffed against what the endpoint accepts, and every
zip — an xlsx is one — inspected for bombs, unsafe paths and links before anything unpacks it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi import Request, UploadFile

from landmatch.errors import FormatError, InvalidInput, PayloadTooLarge, UnprocessableInput
from landmatch.inventory.formats import LABELS, detect_format, sniff
from landmatch.inventory.readers import check_archive

# What each kind of import accepts (the parcel import: every format it reads).
PARCEL_FILES = frozenset(("geojson", "gpkg", "shp", "txt", "xlsx", "csv"))
LAYER_FILES = frozenset(("geojson", "gpkg", "shp"))
BOUNDARY_FILES = frozenset(("geojson", "gpkg", "shp", "txt"))  # joined to an Excel 清单 by code
EXCEL_FILES = frozenset(("xlsx",))
TABLE_FILES = frozenset(("xlsx", "csv"))  # a 清单 that may take its boundaries from a second file
# The parts of a shapefile dropped one by one (packed into one zip before the checks).
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml")
MAX_FILES = 12
_TEXT = frozenset(("geojson", "txt", "csv"))  # formats whose content may show no signature
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_OTHER = {"office": "Word/PowerPoint 文档", "ole2": "旧版 Office 文件（.xls/.doc）"}


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


def safe_filename(name: str | None) -> str:
    """The file's own name: no directories (``../../x`` → ``x``), no control characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _CONTROL.sub("", base).strip()[:200]
    return base or "upload"


def checked(
    data: bytes, filename: str | None, accept: Collection[str], max_unpacked: int
) -> Upload:
    """``data`` passed through every check a file gets before any reader sees it."""
    name = safe_filename(filename)
    if not data:
        raise FormatError(f"文件“{name}”为空")
    kind = sniff(data)
    wanted = "、".join(LABELS[k] for k in sorted(accept))
    if kind in _OTHER:
        detect_format(name, data)  # raises with its advice (save an .xls as .xlsx …)
    if kind is None and not (_TEXT & set(accept)) or kind is not None and kind not in accept:
        shown = LABELS.get(kind or "", _OTHER.get(kind or "", "无法识别的内容"))
        raise FormatError(f"文件“{name}”的内容是{shown}；此处只接受 {wanted}")
    if kind is not None and data.startswith(_ZIP):  # a damaged zip: its reader names the damage
        check_archive(data, max_unpacked)
    return Upload(data, name)


async def read_upload(request: Request, file: UploadFile, max_mb: int) -> bytes:
    cap = max_mb * 1024 * 1024
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap + 64 * 1024:
        raise PayloadTooLarge(f"上传文件超过上限 {max_mb} MB")
    chunks, size = [], 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"上传文件超过上限 {max_mb} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def single_fields(request: Request) -> None:
    """Refuse a multipart form that repeats a field (two ``file`` parts, say): the framework
    would silently keep the last one."""
    form = await request.form()  # already parsed for the endpoint's parameters: cached
    repeated = sorted({key for key in form if len(form.getlist(key)) > 1})
    if not repeated:
        return
    if "file" in repeated:
        raise UnprocessableInput(
            f"一次只能导入一个文件：表单中有 {len(form.getlist('file'))} 个 file 字段；"
            "请分别上传，或把 Shapefile 的各个文件打包成一个 zip"
        )
    raise UnprocessableInput(
        f"表单字段 {'、'.join(repeated)} 重复出现；每个字段只能填写一次",
        detail=[{"field": key, "reason": "字段重复"} for key in repeated],
    )


async def receive(
    request: Request, file: UploadFile, accept: Collection[str], max_mb: int, max_unpacked_mb: int
) -> Upload:
    """Every upload endpoint's way to its file."""
    await single_fields(request)
    data = await read_upload(request, file, max_mb)
    return checked(data, file.filename, accept, max_unpacked_mb * 1024 * 1024)


@dataclass(frozen=True)
class UploadSet:
    """The files of one import: the parcel file, and the boundaries of a table without them."""

    file: Upload
    boundaries: Upload | None = None


def _part_suffix(name: str) -> str | None:
    low = name.lower()
    return next((s for s in SHAPEFILE_PARTS if low.endswith(s)), None)


def pack_shapefile(parts: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """A shapefile dropped as its parts (.shp, .shx, .dbf, .prj, .cpg …) as one zip, the way
    the import reads a shapefile; :class:`FormatError` when a part is missing or two
    shapefiles are mixed."""
    by_suffix: dict[str, tuple[str, bytes]] = {}
    stems = set()
    for name, data in parts:
        suffix = _part_suffix(name)
        assert suffix is not None
        if suffix in by_suffix:
            raise FormatError(f"Shapefile 的 {suffix} 文件出现了两次；一次只能导入一个 Shapefile")
        by_suffix[suffix] = (name, data)
        stems.add(name[: -len(suffix)])
    missing = [s for s in (".shp", ".shx", ".dbf") if s not in by_suffix]
    if missing:
        raise FormatError(
            f"Shapefile 缺少 {'、'.join(missing)} 文件；请把同名的 .shp、.shx、.dbf"
            "（以及 .prj、.cpg）一起拖入，或上传它们的 zip 压缩包"
        )
    if len(stems) > 1:
        raise FormatError(f"这些 Shapefile 文件的名称不一致（{'、'.join(sorted(stems))}）")
    stem = stems.pop()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for suffix, (_, data) in sorted(by_suffix.items()):
            z.writestr(f"{stem}{suffix}", data)
    return f"{stem}.zip", buf.getvalue()


def group_files(named: Sequence[tuple[str, bytes]], max_unpacked: int) -> UploadSet:
    """The files of one import as dropped together, each through :func:`checked`: one file;
    a shapefile's parts (packed into a zip); or an Excel/CSV 清单 plus a boundary file
    joined to it by parcel code. Anything else is refused with the reason."""
    if not named:
        raise InvalidInput("请选择要导入的文件")
    if len(named) > MAX_FILES:
        raise InvalidInput(f"一次最多上传 {MAX_FILES} 个文件")
    parts = [(n, d) for n, d in named if _part_suffix(n)]
    files = [(n, d) for n, d in named if not _part_suffix(n)]
    if parts:
        files.append(pack_shapefile(parts))
    if len(files) == 1:
        return UploadSet(checked(files[0][1], files[0][0], PARCEL_FILES, max_unpacked))
    if len(files) == 2:
        kinds = [detect_format(n, d)[0] if d else "" for n, d in files]
        tables = [k in TABLE_FILES for k in kinds]
        if tables.count(True) == 1:
            table, shapes = (files[0], files[1]) if tables[0] else (files[1], files[0])
            return UploadSet(
                checked(table[1], table[0], TABLE_FILES, max_unpacked),
                checked(shapes[1], shapes[0], BOUNDARY_FILES, max_unpacked),
            )
    listed = "、".join(safe_filename(n) for n, _ in files)
    raise UnprocessableInput(
        f"无法组合这些文件（{listed}）：一次导入只能是一个文件、一个 Shapefile 的各个组成文件，"
        "或一个 Excel/CSV 清单加一个边界文件（按地块编号对应）"
    )


async def receive_set(
    request: Request, files: Sequence[UploadFile], max_mb: int, max_unpacked_mb: int
) -> UploadSet:
    """The wizard's way to its files (several in the one ``files`` field): every other field
    once, the size cap over all files together, then :func:`group_files`."""
    form = await request.form()
    repeated = sorted({key for key in form if key != "files" and len(form.getlist(key)) > 1})
    if repeated:
        raise UnprocessableInput(f"表单字段 {'、'.join(repeated)} 重复出现；每个字段只能填写一次")
    named: list[tuple[str, bytes]] = []
    total = 0
    for f in files:
        if not f.filename and not f.size:
            continue  # an empty file input
        data = await read_upload(request, f, max_mb)
        total += len(data)
        if total > max_mb * 1024 * 1024:
            raise PayloadTooLarge(f"上传文件合计超过上限 {max_mb} MB")
        named.append((safe_filename(f.filename), data))
    return group_files(named, max_unpacked_mb * 1024 * 1024)


def read_file(path: Path, accept: Collection[str], max_unpacked_mb: int) -> Upload:
    """The CLI's way to a file: the same checks as an upload, no size cap."""
    return checked(path.read_bytes(), path.name, accept, max_unpacked_mb * 1024 * 1024)

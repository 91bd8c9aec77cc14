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

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi import Request, UploadFile

from landmatch.errors import FormatError, PayloadTooLarge, UnprocessableInput
from landmatch.inventory.formats import LABELS, detect_format, sniff
from landmatch.inventory.readers import check_archive

# What each kind of import accepts (the parcel import: every format it reads).
PARCEL_FILES = frozenset(("geojson", "gpkg", "shp", "txt", "xlsx", "csv"))
LAYER_FILES = frozenset(("geojson", "gpkg", "shp"))
BOUNDARY_FILES = frozenset(("geojson", "gpkg", "shp", "txt"))  # joined to an Excel 清单 by code
EXCEL_FILES = frozenset(("xlsx",))
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


def read_file(path: Path, accept: Collection[str], max_unpacked_mb: int) -> Upload:
    """The CLI's way to a file: the same checks as an upload, no size cap."""
    return checked(path.read_bytes(), path.name, accept, max_unpacked_mb * 1024 * 1024)

"""Reading an upload with a size cap (413 as soon as the cap is passed); one value per field."""

from __future__ import annotations

from fastapi import Request, UploadFile

from landmatch.errors import PayloadTooLarge, UnprocessableInput


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

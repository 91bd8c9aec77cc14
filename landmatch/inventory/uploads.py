"""Reading an upload with a size cap (413 as soon as the cap is passed)."""

from __future__ import annotations

from fastapi import Request, UploadFile

from landmatch.errors import PayloadTooLarge


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

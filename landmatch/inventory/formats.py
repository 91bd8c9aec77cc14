"""Which import format a file is in: its content (magic bytes) first, its extension second.

Users rename files (an Excel workbook saved as ``.csv``, a GeoPackage sent as ``.dat``). When the
content is unmistakable it decides, and the report carries a warning naming both; when the
content says nothing (plain text), the extension decides.
"""

from __future__ import annotations

import codecs
import io
import zipfile

from landmatch.errors import FormatError

FORMATS = ("geojson", "gpkg", "shp", "txt", "xlsx", "csv")
LABELS = {
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "shp": "Shapefile（zip 压缩包）",
    "txt": "界址点坐标 TXT",
    "xlsx": "Excel 工作簿（xlsx）",
    "csv": "CSV",
}
_BY_EXTENSION = {
    "geojson": "geojson",
    "json": "geojson",
    "gpkg": "gpkg",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "csv": "csv",
    "txt": "txt",
    "zip": "shp",
}
_SUPPORTED = "支持 GeoJSON、GeoPackage、Shapefile（zip）、界址点坐标 TXT、Excel（xlsx）和 CSV"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc: the pre-2007 Office container
_OFFICE = "office"  # a Word/PowerPoint (OOXML) document: a zip, but not a workbook
_OLD_OFFICE = "ole2"


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(data: bytes) -> str | None:
    """The Unicode encoding a text shows by its byte-order mark, or (without one) by the zero
    bytes UTF-16 gives ASCII characters; None for anything else (UTF-8 without BOM, GBK …).

    Examples
    --------
    >>> text_encoding('{"a": 1}'.encode("utf-16")), text_encoding('{"a"'.encode("utf-16-le"))
    ('utf-16', 'utf-16-le')
    >>> text_encoding(b'\\xef\\xbb\\xbf{}'), text_encoding(b'{}') is None
    ('utf-8-sig', True)
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    head = data[:4]
    if len(head) == 4 and head[1] == head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) == 4 and head[0] == head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return None


def utf8_json(data: bytes) -> bytes:
    """JSON text as UTF-8 without a byte-order mark (RFC 8259), whatever Unicode encoding the
    file was saved in (Windows tools write a BOM, or UTF-16); other bytes are returned as they
    are. Raises :class:`FormatError` when the marked encoding does not decode."""
    codec = text_encoding(data)
    if codec is None:
        return data
    try:
        return data.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(
            f"文件以 {codec.upper().removesuffix('-SIG')} 编码标记开头，但内容无法按该编码解码；"
            "文件可能已损坏"
        ) from None


def sniff(data: bytes) -> str | None:
    """The format the content shows, or ``None`` when it shows none (plain text, damage).

    Examples
    --------
    >>> sniff(b"SQLite format 3\\x00..."), sniff(b'\\xef\\xbb\\xbf {"type": "FeatureCollection"}')
    ('gpkg', 'geojson')
    >>> sniff("地块编号,地块名称".encode()) is None
    True
    """
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if data.startswith(_OLE2):
        return _OLD_OFFICE
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            names = [
                n.replace("\\", "/").lower() for n in zipfile.ZipFile(io.BytesIO(data)).namelist()
            ]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None  # damaged: the extension decides and its reader names the damage
        ooxml = "[content_types].xml" in names
        if ooxml and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.endswith(".shp") for n in names):
            return "shp"
        return _OFFICE if ooxml else None
    codec = text_encoding(data)
    if codec is not None:
        start = data[:64].decode(codec, errors="ignore")
        if start.lstrip()[:1] == "{":
            return "geojson"
    elif data.lstrip()[:1] == b"{":
        return "geojson"
    return None


def detect_format(filename: str, data: bytes) -> tuple[str, str | None]:
    """The import format of ``data`` and, when the extension says otherwise, a warning.

    Examples
    --------
    >>> import io, openpyxl
    >>> buf = io.BytesIO(); openpyxl.Workbook().save(buf)
    >>> fmt, warning = detect_format("清单.csv", buf.getvalue())
    >>> fmt, warning
    ('xlsx', '文件“清单.csv”的扩展名为 .csv（CSV），但内容是 Excel 工作簿（xlsx）；已按内容读取为 Excel 工作簿（xlsx）')
    >>> detect_format("a.csv", "地块编号,地块名称\\n".encode())
    ('csv', None)
    """
    name = filename.lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    by_ext = _BY_EXTENSION.get(ext)
    content = sniff(data)
    if content == _OLD_OFFICE:
        raise FormatError(
            f"“{filename}”是旧版 Office 文件（如 .xls），不能直接导入；"
            "请在 Excel 中另存为“Excel 工作簿（*.xlsx）”后再导入"
        )
    if content == _OFFICE:
        raise FormatError(
            f"无法识别的文件类型“{filename}”：内容是 Word、PowerPoint 等 Office 文档，"
            f"不是 Excel 工作簿；{_SUPPORTED}"
        )
    if content is None:
        if by_ext is None:
            raise FormatError(f"无法识别的文件类型“{filename}”；{_SUPPORTED}")
        return by_ext, None
    if by_ext == content:
        return content, None
    said = f".{ext}（{LABELS[by_ext]}）" if by_ext else (f".{ext}" if ext else "")
    if not said:
        return content, None
    return content, (
        f"文件“{filename}”的扩展名为 {said}，但内容是 {LABELS[content]}；"
        f"已按内容读取为 {LABELS[content]}"
    )

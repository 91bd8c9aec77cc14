"""The text encoding of a Shapefile's DBF attribute table.

Chinese shapefiles often come without a ``.cpg``; field names (地块编号, 地块名称…) and values
are then in the writer's code page, usually GBK. The order of evidence is: the user's explicit
encoding, the ``.cpg``, the DBF's language driver id (LDID, header byte 29), and finally
detection over the field names and the records (UTF-8 first, then GB18030).

Examples
--------
>>> dbf_encoding(_example_dbf("地块编号".encode("gbk"), ldid=0x4D))
'GBK'
>>> dbf_encoding(_example_dbf("地块编号".encode("gbk"), ldid=0))
'GB18030'
>>> dbf_encoding(_example_dbf("地块编号".encode("utf-8"), ldid=0))
'UTF-8'
>>> cpg_encoding("936"), cpg_encoding("UTF-8"), cpg_encoding("ANSI 1252"), cpg_encoding("GB2312")
('GBK', 'UTF-8', 'CP1252', 'GBK')
"""

from __future__ import annotations

import codecs
import re

from landmatch.errors import FormatError

#: DBF language driver id (header byte 29) → code page, after the ESRI and GDAL tables.
#: 0x57 ("ANSI": the writer's Windows code page, whatever it was) and 0 say nothing.
LDID_CODEPAGES: dict[int, str] = {
    0x01: "CP437",
    0x02: "CP850",
    0x03: "CP1252",
    0x08: "CP865",
    0x09: "CP437",
    0x0A: "CP850",
    0x0B: "CP437",
    0x0D: "CP437",
    0x0E: "CP850",
    0x0F: "CP437",
    0x10: "CP850",
    0x11: "CP437",
    0x12: "CP850",
    0x13: "CP932",
    0x14: "CP850",
    0x15: "CP437",
    0x16: "CP850",
    0x17: "CP865",
    0x18: "CP437",
    0x19: "CP437",
    0x1A: "CP850",
    0x1B: "CP437",
    0x1C: "CP863",
    0x1D: "CP850",
    0x1F: "CP852",
    0x22: "CP852",
    0x23: "CP852",
    0x24: "CP860",
    0x25: "CP850",
    0x26: "CP866",
    0x37: "CP850",
    0x40: "CP852",
    0x4D: "GBK",  # CP936, simplified Chinese (ArcGIS, most Chinese writers)
    0x4E: "CP949",
    0x4F: "CP950",
    0x50: "CP874",
    0x58: "CP1252",
    0x59: "CP1252",
    0x64: "CP852",
    0x65: "CP866",
    0x66: "CP865",
    0x67: "CP861",
    0x6A: "CP737",
    0x6B: "CP857",
    0x6C: "CP863",
    0x78: "CP950",
    0x79: "CP949",
    0x7A: "GBK",  # CP936 as some writers (FoxPro, older Chinese tools) label it
    0x7B: "CP932",
    0x7C: "CP874",
    0x7D: "CP1255",
    0x7E: "CP1256",
    0x86: "CP737",
    0x87: "CP852",
    0x88: "CP857",
    0xC8: "CP1250",
    0xC9: "CP1251",
    0xCA: "CP1254",
    0xCB: "CP1253",
    0xCC: "CP1257",
}

_CPG_ALIASES = {
    # GB2312 labels usually hide GBK text (GBK is its superset); 936 is the GBK code page.
    "936": "GBK",
    "CP936": "GBK",
    "GB2312": "GBK",
    "GBK": "GBK",
    "GB18030": "GB18030",
    "65001": "UTF-8",
    "UTF8": "UTF-8",
    "UTF-8": "UTF-8",
}


def cpg_encoding(text: str) -> str | None:
    """The encoding a ``.cpg`` file names (``936``, ``GBK``, ``UTF-8``, ``ANSI 1252`` …).

    Returns ``None`` for an empty file; an unknown name is returned as written, for the caller
    to refuse.
    """
    value = text.strip().strip("\ufeff").strip()
    if not value:
        return None
    upper = value.upper()
    upper = re.sub(r"^(ANSI|OEM)\s*", "", upper)
    if upper in _CPG_ALIASES:
        return _CPG_ALIASES[upper]
    if upper.isdigit():
        return f"CP{upper}"
    return value


def _field_names(dbf: bytes, header_len: int) -> list[bytes]:
    names = []
    for offset in range(32, min(header_len, len(dbf)) - 31, 32):
        descriptor = dbf[offset : offset + 32]
        if descriptor[0] == 0x0D:  # end of the field descriptors
            break
        names.append(descriptor[:11].split(b"\0", 1)[0])
    return names


def _decodes(codec: str, names: list[bytes], body: bytes) -> bool:
    try:
        for name in names:
            # Names are cut at 11 bytes, sometimes inside a character: allow an open tail.
            codecs.getincrementaldecoder(codec)().decode(name, final=False)
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def dbf_encoding(dbf: bytes) -> str:
    """The encoding of a DBF without ``.cpg``: its LDID when the table decodes with it, else
    the first of UTF-8 and GB18030 in which both the field names and the records decode.

    Raises
    ------
    FormatError
        Neither fits; the message asks for an encoding.
    """
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 32 else 0
    names = _field_names(dbf, header_len)
    body = dbf[header_len:]
    ldid = dbf[29] if len(dbf) >= 32 else 0
    candidates = [LDID_CODEPAGES[ldid]] if ldid in LDID_CODEPAGES else []
    for codec in (*candidates, "UTF-8", "GB18030"):
        if _decodes(codec, names, body):
            return codec
    raise FormatError(
        "DBF 属性表编码无法识别（字段名或属性值既不是 UTF-8 也不是 GBK/GB18030）；请指定字符编码"
    )


def _example_dbf(name: bytes, *, ldid: int) -> bytes:
    """A one-field, one-record DBF with field ``name`` (for the examples and tests)."""
    header = bytearray(32)
    header[0] = 0x03
    header[4:8] = (1).to_bytes(4, "little")
    header[8:10] = (32 + 32 + 1).to_bytes(2, "little")
    header[10:12] = (1 + 10).to_bytes(2, "little")
    header[29] = ldid
    descriptor = bytearray(32)
    descriptor[:11] = name[:11].ljust(11, b"\0")
    descriptor[11] = ord("C")
    descriptor[16] = 10
    return bytes(header + descriptor) + b"\x0d" + b" " + b"BAD-1".ljust(10) + b"\x1a"


#: Encoding → the LDID a writer sets for it (the byte readers map back with
#: :data:`LDID_CODEPAGES`); UTF-8 has none.
LDID_FOR: dict[str, int] = {"GBK": 0x4D, "CP936": 0x4D}


def with_ldid(dbf: bytes, encoding: str) -> bytes:
    """``dbf`` with its language driver id set for ``encoding`` (GBK → 0x4D, as ArcGIS writes
    it), so readers decode the text right even when the ``.cpg`` is lost; unchanged for an
    encoding without an LDID.

    >>> dbf = with_ldid(_example_dbf("地块编号".encode("gbk"), ldid=0), "GBK")
    >>> dbf[29] == 0x4D, dbf_encoding(dbf)
    (True, 'GBK')
    """
    ldid = LDID_FOR.get(encoding.upper().replace("-", ""))
    if ldid is None or len(dbf) < 32:
        return dbf
    return dbf[:29] + bytes([ldid]) + dbf[30:]

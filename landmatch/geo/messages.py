"""Messages of GDAL, GEOS and the JSON/CSV parsers, in Chinese for the user.

What a library says is English and names server paths; what reaches the user is a Chinese
sentence naming the user's own file. The known messages are translated; an unknown one gets a
generic Chinese sentence (the original goes to the server log, not to the user).

Examples
--------
>>> gdal_zh("'/tmp/x/upload.gpkg' not recognized as being in a supported file format.",
...         "地块.gpkg", "GeoPackage")
'“地块.gpkg”不是可识别的 GeoPackage 文件'
>>> gdal_zh("sqlite3_prepare_v2(SELECT 1) failed: database disk image is malformed",
...         "地块.gpkg", "GeoPackage")
'“地块.gpkg”已损坏或不完整（数据库文件损坏）'
>>> geos_zh("IllegalArgumentException: Points of LinearRing do not form a closed linestring")
'多边形的环未闭合（首尾坐标应相同）'
>>> import json
>>> try:
...     json.loads('{"type": "FeatureCollection",, }')
... except ValueError as exc:
...     json_zh(exc)
'第 1 行第 30 列：此处应为属性名（须用双引号括起）'
>>> csv_zh("Error tokenizing data. C error: Expected 5 fields in line 3, saw 6\\n")
'第 3 行有 6 列，而表头只有 5 列（文本中的逗号是否未加引号？）'
"""

from __future__ import annotations

import json
import logging
import re

log = logging.getLogger(__name__)

# GEOS (shapely) messages: geometry that cannot be built.
_GEOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"do not form a closed linestring"), "多边形的环未闭合（首尾坐标应相同）"),
    (
        re.compile(r"Invalid number of points in LinearRing found (\d+)"),
        r"多边形的环只有 \1 个点（至少 4 个点，且首尾相同）",
    ),
    (
        re.compile(r"point array must contain 0 or >1 elements|LineString must have"),
        "线的点数不足（至少 2 个点）",
    ),
    (re.compile(r"encountered end of stream|Unexpected EOF"), "内容提前结束（坐标或括号不完整）"),
    (re.compile(r"Expected (word|number) but encountered (\S+)"), r"此处不应出现“\2”"),
    (re.compile(r"Unexpected token|ParseException"), "格式错误"),
    (re.compile(r"Unknown type: '?(\w+)"), r"无法识别的几何类型 \1"),
)

# GDAL messages, checked in order; ``{shown}`` is the user's file, ``{label}`` its format.
_GDAL: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"not recognized as being in a supported file format"),
        "“{shown}”不是可识别的 {label} 文件",
    ),
    (
        re.compile(r"database disk image is malformed|file is not a database|sqlite3_\w+\("),
        "“{shown}”已损坏或不完整（数据库文件损坏）",
    ),
    (
        re.compile(r"\.shp file is unreadable, or corrupt"),
        "“{shown}”的 .shp 几何文件已损坏或不完整",
    ),
    (
        re.compile(r"SHAPE_RESTORE_SHX|\.shx.*(corrupt|unreadable)", re.IGNORECASE),
        "“{shown}”缺少索引文件 .shx 或它已损坏",
    ),
    (
        re.compile(r"\.dbf.*(corrupt|unreadable)|DBF", re.IGNORECASE),
        "“{shown}”的属性表 .dbf 已损坏",
    ),
    (re.compile(r"No such file or directory"), "找不到“{shown}”"),
    (
        re.compile(r"GeoJSON|JSON parsing|json", re.IGNORECASE),
        "“{shown}”的 GeoJSON 内容无法解析（结构不符合 GeoJSON 规范）",
    ),
    (re.compile(r"Permission denied"), "无法读取“{shown}”（没有读取权限）"),
    (re.compile(r"out of memory|Cannot allocate", re.IGNORECASE), "“{shown}”过大，读取时内存不足"),
)


_PATHS = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s'\"();,]*")


def geos_zh(text: str) -> str | None:
    """A GEOS (shapely) message in Chinese, or None when it is not a known one."""
    for pattern, zh in _GEOS:
        m = pattern.search(text)
        if m:
            return m.expand(zh)
    return None


def gdal_zh(text: str, shown: str, label: str) -> str:
    """GDAL's (or GEOS's, raised while reading) message about the user's file ``shown``, in
    Chinese. Unknown messages get a generic sentence; the original is logged."""
    geos = geos_zh(text)
    if geos is not None:
        return f"“{shown}”中的几何图形无法读取：{geos}"
    bare = _PATHS.sub("FILE", text)  # a file name must not decide (p.geojson, x.dbf)
    for pattern, zh in _GDAL:
        if pattern.search(bare):
            return zh.format(shown=shown, label=label)
    log.warning("untranslated GDAL message for %s: %s", shown, text)
    return f"“{shown}”已损坏或不是有效的 {label} 文件"


_JSON: dict[str, str] = {
    "Expecting value": "此处应为一个值（可能多了逗号，或内容被截断）",
    "Expecting property name enclosed in double quotes": "此处应为属性名（须用双引号括起）",
    "Expecting ',' delimiter": "此处缺少逗号",
    "Expecting ':' delimiter": "此处缺少冒号",
    "Unterminated string starting at": "字符串缺少结尾的双引号",
    "Invalid control character at": "字符串中含有控制字符（如未转义的换行）",
    "Invalid \\escape": "无效的转义字符（反斜杠）",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义",
    "Extra data": "JSON 已结束，后面还有多余内容",
}


def json_zh(exc: ValueError) -> str:
    """A JSON parse error (``json.JSONDecodeError``) in Chinese, with its line and column."""
    if isinstance(exc, json.JSONDecodeError):
        what = _JSON.get(exc.msg, "JSON 格式错误")
        return f"第 {exc.lineno} 行第 {exc.colno} 列：{what}"
    return "JSON 格式错误"


_CSV_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def csv_zh(text: str) -> str:
    """A pandas CSV parser error in Chinese."""
    m = _CSV_FIELDS.search(text)
    if m:
        return f"第 {m[2]} 行有 {m[3]} 列，而表头只有 {m[1]} 列（文本中的逗号是否未加引号？）"
    if "EOF inside string" in text or "EOF while" in text:
        return "文件结尾处有未闭合的引号"
    if "No columns to parse" in text:
        return "文件为空，没有表头"
    log.warning("untranslated CSV parser message: %s", text)
    return "无法按 CSV 格式解析（请检查分隔符和引号）"

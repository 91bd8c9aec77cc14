"""Canonical test geometries shared across the suite (lon/lat, EPSG:4490 unless noted).

Import them, never mutate them (shapely geometries are immutable anyway).
"""

from __future__ import annotations

import math
import warnings

from shapely import LineString, MultiPolygon, Point, Polygon, box

# ~88 m × 111 m square in Shijiazhuang (zone 38), valid, counter-clockwise.
SQUARE_SJZ = box(114.509, 38.039, 114.510, 38.040)

# Self-intersecting "bow-tie": the two triangles touch at (114.5, 38.0).
BOWTIE = Polygon([(114.49, 37.99), (114.51, 38.01), (114.51, 37.99), (114.49, 38.01)])
BOWTIE_CROSSING = (114.5, 38.0)

EMPTY = Polygon()

# 0.002° square with a 0.001° hole in the middle (Baoding).
POLYGON_WITH_HOLE = Polygon(
    box(115.460, 38.870, 115.462, 38.872).exterior.coords,
    [box(115.4605, 38.8705, 115.4615, 38.8715).exterior.coords],
)

# Two disjoint squares (Langfang).
MULTIPART = MultiPolygon(
    [box(116.680, 39.540, 116.681, 39.541), box(116.683, 39.540, 116.684, 39.541)]
)

# Two disjoint squares near 昌黎 (Qinhuangdao, zone 40).
MULTIPART_CHANGLI = MultiPolygon(
    [box(119.170, 39.700, 119.171, 39.701), box(119.173, 39.700, 119.174, 39.701)]
)

POINT = Point(114.51, 38.04)
LINE = LineString([(114.51, 38.04), (114.52, 38.05)])

# A ring whose last point does not repeat the first (readers must close it).
OPEN_RING_COORDS = [(114.509, 38.039), (114.510, 38.039), (114.510, 38.040), (114.509, 38.040)]

# A polygon with a NaN vertex.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    NAN_POLYGON = Polygon(
        [(114.509, 38.039), (math.nan, 38.039), (114.510, 38.040), (114.509, 38.039)]
    )

# A valid square far outside China (Paris).
SQUARE_PARIS = box(2.35, 48.85, 2.36, 48.86)

# The same Shijiazhuang square with lon/lat swapped (x = lat, y = lon).
SQUARE_SJZ_SWAPPED = box(38.039, 114.509, 38.040, 114.510)

# Domain rules §5.3: 100 m × 100 m = 1 ha near Shijiazhuang, zone 38 (EPSG:4526).
TXT_EXAMPLE = """[属性描述]
格式版本号=1.01版本
数据产生单位=
数据产生日期=2024-05-01
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=38
精度=0.001
转换参数=,,,,,,
[地块坐标]
5,1.0000,1,地块1,面,,工业用地,,@
J1,1,4212000.000,38544700.000
J2,1,4212000.000,38544800.000
J3,1,4212100.000,38544800.000
J4,1,4212100.000,38544700.000
J1,1,4212000.000,38544700.000
"""
TXT_EXAMPLE_J1_LONLAT = (114.50919, 38.03946)

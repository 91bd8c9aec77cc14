"""Pure geometry: CRS handling, measurement, validation and the TXT survey format.

Imports shapely, pyproj, numpy, ``landmatch.errors`` and ``landmatch.numbers`` (how a figure
is written for people) only — never the database or the web layer. Import the submodules directly (``from landmatch.geo.crs import to_storage``).
"""

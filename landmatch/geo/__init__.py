"""Pure geometry: CRS handling, measurement, validation and the TXT survey format.

Imports shapely, pyproj, numpy and ``landmatch.errors`` only — never the database or the web
layer. Import the submodules directly (``from landmatch.geo.crs import to_storage``).
"""

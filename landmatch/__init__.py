"""landmatch: land-supply and industrial-site matching GIS for Hebei."""

__version__ = "0.1.0"

"""OGC API – Features (Parts 1–3) and Tiles over the landmatch inventory.

Service functions live here (documents, queries, CRS, CQL2); the HTTP routes are thin wrappers
in ``landmatch.api.routes.ogc``.
"""

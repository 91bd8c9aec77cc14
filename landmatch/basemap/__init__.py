"""The offline basemap: water (sea, coastline, lakes, rivers) drawn under the project's layers
when ``LANDMATCH_BASEMAP=none``, made at set-up from a Debian package (``gshhg``: reading the
files, ``store``: the ``basemap_water`` table, ``commands``: ``landmatch basemap``)."""

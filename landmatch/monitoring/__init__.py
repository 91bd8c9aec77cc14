"""Land monitoring: idle land (闲置), approved-but-unsupplied land (批而未供), disposal cases,
annual targets, development-zone KPIs. ``idle`` is pure; the other modules query PostGIS."""

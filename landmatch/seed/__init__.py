"""The demo inventory: deterministic synthetic parcels on real Hebei geography."""

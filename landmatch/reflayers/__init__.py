"""Reference layers kept by their owners: facilities and constraint areas, imported with
history; every change refreshes the per-parcel facts of the parcels it touches and raises
alerts for the bureaus concerned."""

"""Leads (线索): 我有意向 inquiries sent from the public map or a public match, routed to the
promotion team that covers the parcel's city or zone, and what the team does with them.

- :mod:`landmatch.leads.inquiries`: the public side — the signed, time-stamped form token, the
  checks (honeypot, size, text, consent, per-address rate limit) and storing the inquiry.
- :mod:`landmatch.leads.coverage`: which team covers which city or zone (admins edit it).
- :mod:`landmatch.leads.leads`: the staff side — the team's leads, one lead, converting it into
  a project at stage 线索 or dismissing it.
"""

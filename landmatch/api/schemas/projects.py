"""Promotion teams' projects, their holds on parcels and the reverse match."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract, Timestamp
from landmatch.match.requirements import Requirement


class Project(Contract):
    id: int
    name: str
    industry_code: str | None
    requirement: Requirement = Field(description="the stored requirement the project matches with")
    pipeline_status: str
    pipeline_label: str | None
    investor: str | None
    owner: str | None
    owner_team: str | None
    notes: str | None
    version: int = Field(description="for If-Match (the ETag carries it)")
    created_at: Timestamp
    updated_at: Timestamp


class Reservation(Contract):
    """A hold as its own team (and an admin) sees it."""

    own: Literal[True]
    id: int
    parcel_code: str
    parcel_id: int
    project_id: int
    project_name: str
    reserved_by: str | None
    owner_team: str | None
    until: dt.date | None
    note: str | None
    created_at: Timestamp
    released_at: Timestamp | None


class ReservationSeen(Contract):
    """Another team's hold: that the parcel is held and until when, not by whom or for what."""

    own: Literal[False]
    id: int
    parcel_code: str
    parcel_id: int
    until: dt.date | None
    created_at: Timestamp
    released_at: Timestamp | None


class FittingProject(Contract):
    """An open project the parcel fits; another team's without its name and investor."""

    own: bool
    project_id: int | None
    name: str | None
    investor: str | None
    pipeline_status: str
    pipeline_label: str | None
    industry: str | None
    score: float = Field(description="the parcel's score for the project, 0–100")


class MatchingProjects(Contract):
    parcel_code: str
    projects_checked: int
    projects: list[FittingProject] = Field(description="best first")

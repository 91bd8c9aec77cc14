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


class Ended(Contract):
    """What a project's delete ended, which its restore does not bring back."""

    released: list[str] = Field(description="parcels whose holds the delete released")
    revoked: int = Field(description="proposal links the delete ended")


class DeletedProject(Project, Ended):
    """A deleted project as it was deleted (restore it with its ETag, the version here)."""

    deleted_at: Timestamp
    deleted_by: str | None


class RestoredProject(Project, Ended):
    """The project brought back; its holds and links ended by the delete stay ended."""


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


class ReservationTeamSeen(Contract):
    """A hold on a parcel of the caller's city as its land bureau sees it: the team that holds
    it (whom to ask) and until when, not the project."""

    own: Literal[False]
    id: int
    parcel_code: str
    parcel_id: int
    owner_team: str | None
    until: dt.date | None
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

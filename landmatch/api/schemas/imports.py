"""The report of a parcel import (``POST /api/imports``; a rejected import answers 422 with the
same report as the problem's ``errors``) and of its rollback."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from landmatch.api.schemas.common import Contract
from landmatch.api.schemas.history import FieldChange

RowLabel = int | str  # a row number, or the header's label


class Totals(Contract):
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int


class RowProblem(Contract):
    field: str
    reason: str


class RowWarning(Contract):
    field: str
    message: str


class ImportRow(Contract):
    row: RowLabel
    code: str | None
    action: Literal["created", "updated", "unchanged", "rejected", "checked"]
    problems: list[RowProblem] | None = Field(None, description="a rejected row's problems")
    changes: list[FieldChange] | None = Field(None, description="an update's changes")
    warnings: list[RowWarning] | None = None


class Rejection(Contract):
    row: RowLabel
    code: str | None
    field: str
    reason: str


class Decision(Contract):
    """A decision taken for many rows at once (a default applied, a unit read …)."""

    field: str
    label: str
    message: str
    count: int
    rows: list[RowLabel] = Field(description="the first rows it applies to")


class ColumnRead(Contract):
    """How one column of the file was read."""

    header: str
    field: str | None = Field(None, description="the field it fills (null: not recognised)")
    label: str | None = None
    unit: str | None = None
    factor_to_m2: float | None = None
    ignored: bool | None = None
    note: str | None = None
    suggestion: str | None = Field(None, description="the closest known header")


class ImportReport(Contract):
    filename: str
    format: str
    crs: str | None
    code_prefix: str | None
    dry_run: bool
    totals: Totals
    rows: list[ImportRow]
    rejected: list[Rejection]
    decisions: list[Decision]
    warnings: list[str] = Field(description="every message as text (中文)")
    columns: list[ColumnRead] | None = None
    import_id: int | None = Field(description="null for a dry run")
    derived: Literal["pending", "settled"] | None = Field(
        None, description="committed imports: whether facts and map cells are settled yet"
    )


class ImportRollback(Contract):
    import_id: int
    status: Literal["rolled_back"]
    deleted: int = Field(description="parcels the import created, deleted")
    restored: int = Field(description="parcels it changed, back to their previous version")

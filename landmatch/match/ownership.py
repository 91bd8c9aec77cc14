"""Who owns a project, its match runs and its reservations: a promotion team.

The rule itself is :meth:`landmatch.auth.Principal.owns` (admin: everything; a promoter: its
own team's). This module applies it for the services: as a SQL filter for lists, and under the
row lock for writes, so a write by another team is refused inside the writing transaction.
A caller gets its team as ``principal.team`` (the account's ``team``; ``PrincipalDep`` and the
workbench's ``StaffDep`` resolve it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.locking import lock_row
from landmatch.errors import Forbidden, NotFound

#: The projects that are not deleted (a deleted one is kept, for a restore: every read, lock and
#: list of projects leaves it out, as if it did not exist).
LIVE = "deleted_at IS NULL"


def owns(principal: Principal, owner_team: str | None) -> bool:
    """Whether ``principal`` may see and write what belongs to ``owner_team``."""
    return principal.owns(owner_team)


def visible_sql(principal: Principal, column: str, params: dict[str, Any]) -> str:
    """A SQL predicate on ``column`` (an ``owner_team``) true for the rows the caller owns;
    binds ``:_owner_team`` in ``params``."""
    if principal.role == "admin":
        return "TRUE"
    if principal.role != "promoter" or principal.team is None:
        return "FALSE"
    params["_owner_team"] = principal.team
    return f"{column} = :_owner_team"


# Why a promoter without a team creates nothing: the refusal, and the pages' notice up front.
NO_TEAM = "本账号未分配招商团队，不能建立项目；请管理员在账号管理中设置团队"


def may_create(principal: Principal) -> bool:
    """Whether the caller may create projects: an admin, or an account with a team."""
    return principal.role == "admin" or principal.team is not None


def team_for_new(principal: Principal, requested: str | None) -> str | None:
    """The team a new project belongs to: the promoter's own (403 without one, or naming
    another); an admin may name any team (or none: then only admins see it)."""
    requested = (requested or "").strip() or None
    if principal.role == "admin":
        return requested
    if not may_create(principal):
        raise Forbidden(NO_TEAM)
    if requested is not None and requested != principal.team:
        raise Forbidden(f"只能为本团队（{principal.team}）建立项目")
    return principal.team


def owned_project(session: Session, principal: Principal, columns: str, project_id: int) -> Any:
    """The project's row (``columns``, which include ``owner_team``) if the caller owns it; 404
    for a missing project and for another team's, as if it did not exist."""
    row = session.execute(
        text(f"SELECT {columns} FROM landmatch.project WHERE id = :id AND {LIVE}"),
        {"id": project_id},
    ).first()
    if row is None or not owns(principal, row.owner_team):
        raise NotFound(f"未找到项目 {project_id}")
    return row


def lock_owned(
    session: Session,
    principal: Principal,
    sql: str,
    params: dict[str, Any],
    not_found: str,
    *,
    hidden: bool = True,
) -> dict[str, Any]:
    """The row of ``sql`` (selecting its ``owner_team``) locked for a write, if the caller owns
    it. Another team's row: 404 when its existence is not shown to others (``hidden``, as a
    project), else 403 (a reservation, which everyone sees is there)."""
    row = lock_row(session, sql, params, not_found)
    if not principal.owns(row["owner_team"]):
        if hidden:
            raise NotFound(not_found)
        raise Forbidden("只有所属招商团队或管理员可以执行此操作")
    return row

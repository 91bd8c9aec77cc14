"""What every command shares (one definition each): the consoles, the engine and sessions a
command runs in, who it acts as, dates and JSON on the command line, and progress bars.

Commands open the database through :func:`engine` (the job limits: the long statement timeout
of ``LANDMATCH_DB_JOB_STATEMENT_TIMEOUT``) and own their transaction (:func:`transaction`); the
services they call never commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.settings import Settings

console = Console()
err = Console(stderr=True)

#: ``--actor``: who a write by the local operator is recorded as in the history.
ActorOpt = Annotated[str, typer.Option("--actor", help="Name recorded in the history.")]
#: ``--user``: act as a stored user (its role and scope) instead of the local operator.
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Act as this stored user (its role and city scope) instead of the local operator.",
    ),
]


def settings() -> Settings:
    from landmatch.settings import get_settings

    return get_settings()


def engine() -> Engine:
    """The database engine of a command: the job limits, not a request's."""
    from landmatch.db.engine import job_engine

    return job_engine(settings())


def transaction() -> AbstractContextManager[Session]:
    """A session in one transaction: committed when the block ends, rolled back on an error."""
    from landmatch.db.engine import session_factory

    return session_factory(engine()).begin()


def reading() -> Session:
    """A session for reads (``with reading() as session``): nothing is committed."""
    from landmatch.db.engine import session_factory

    return session_factory(engine())()


def cli_user() -> str:
    """Who a command writes as in the history: ``cli:<login>`` (the account that ran it)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still the CLI
        return "cli"


def operator(name: str | None = None) -> Principal:
    """The local operator: whoever can run the command reaches the database anyway, so it acts
    as the provincial data office (an admin), named ``name`` or :func:`cli_user`."""
    from landmatch.auth import Principal

    return Principal(name=name or cli_user(), role="admin")


def caller(session: Session, user: str | None, actor: str) -> Principal:
    """The stored user ``user`` (``--user``), else the local operator named ``actor``."""
    from landmatch.accounts.users import principal_for_user

    return operator(actor) if user is None else principal_for_user(session, user)


@overload
def parse_date(value: str, option: str = ...) -> dt.date: ...
@overload
def parse_date(value: str | None, option: str = ...) -> dt.date | None: ...
def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A YYYY-MM-DD option's date (None stays None); a usage error names the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{value}", param_hint=option) from None


def print_json(obj: Any) -> None:
    console.print_json(json.dumps(obj, ensure_ascii=False, default=str))


def _progress(transient: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    """One bar for a long step; yields the callback ``(done, total)`` that moves it."""
    with _progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def stage_bars(
    labels: dict[str, str], *, transient: bool = True
) -> Iterator[Callable[[str, int, int], None]]:
    """A bar per stage of a long command, added when the stage first reports; yields the
    callback ``(stage, done, total)`` the services take as ``progress``."""
    with _progress(transient) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress

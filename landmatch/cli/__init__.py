"""The ``landmatch`` command: one module per area, as ``landmatch.api.routes`` (db, seed,
serve, imports, exports, qa, policies, zones, layers, users, match, monitoring, basemap), sharing
:mod:`landmatch.cli.common` (engine and sessions, who a command acts as, progress bars).

Commands parse, call the service the API calls and print; they own the transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from landmatch.cli import (
    basemap,
    db,
    exports,
    imports,
    layers,
    match,
    monitoring,
    policies,
    qa,
    seed,
    serve,
    users,
    zones,
)
from landmatch.cli.common import err
from landmatch.errors import LandMatchError

app = typer.Typer(
    help="landmatch：河北省熟地清单与项目选址匹配系统 / Hebei ready-land inventory and site matching.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
GROUPS = {
    "db": db.app,
    "users": users.app,
    "policies": policies.app,
    "zones": zones.app,
    "layers": layers.app,
    "basemap": basemap.app,
}
COMMANDS: dict[str, Callable[..., None]] = {
    "import": imports.import_cmd,
    "import-rollback": imports.rollback_cmd,
    "export": exports.export_cmd,
    "check": qa.check_cmd,
    "idle-scan": monitoring.idle_scan,
    "seed": seed.seed,
    "serve": serve.serve,
    "match": match.match_command,
}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)


def main() -> None:
    """Entry point: domain errors become a plain message and a non-zero exit."""
    try:
        app()
    except LandMatchError as exc:
        err.print(f"[red]错误[/red]：{exc.message}")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - last resort: never a traceback for users
        from landmatch.db.failures import as_domain_error, schema_behind, unavailable

        if unavailable(exc) and not isinstance(exc, LandMatchError):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
            err.print(f"[red]错误[/red]：无法连接数据库（LANDMATCH_DATABASE_URL）：{reason}")
            sys.exit(3)
        known = as_domain_error(exc)
        if known is not None:
            err.print(f"[red]错误[/red]：{known.message}")
            sys.exit(3 if schema_behind(exc) else 2)
        err.print(f"[red]内部错误[/red]：{type(exc).__name__}: {exc}")
        sys.exit(1)

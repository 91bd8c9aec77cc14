"""``landmatch users …``: accounts, passwords and tokens from the command line.

The command line acts as an admin (whoever can run it can reach the database anyway) and
writes as ``cli:<login>`` in the audit log."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.table import Table

from landmatch.cli.common import console, operator, reading, settings, transaction
from landmatch.dates import beijing_minute

app = typer.Typer(help="Accounts, passwords and API tokens.", no_args_is_help=True)


def _read_password() -> str:
    """The password from standard input (its first line), never from the command line."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise typer.BadParameter("标准输入中没有密码", param_hint="--password-stdin")
    return password


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return beijing_minute(value)


@app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin, bureau, zone or promoter.")],
    city: Annotated[
        str | None, typer.Option("--city", help="City code (e.g. 130100; 130000 = province).")
    ] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help="Zone code for a zone committee.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Promotion team.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the initial password from standard input (changed at first sign-in).",
        ),
    ] = False,
    token: Annotated[
        bool | None,
        typer.Option(
            "--token/--no-token",
            help="Also print an API token (shown once). Default: only without a password.",
        ),
    ] = None,
) -> None:
    """Create an account: with a password to sign in to the workbench, and/or an API token."""
    from landmatch.accounts import tokens, users

    password = _read_password() if password_stdin else None
    with transaction() as session:
        account = users.create(
            session,
            users.AccountSpec(name, role, city, zone, team),
            operator(),
            password=password,
            min_length=settings().password_min_length,
        )
        issued = None
        if token if token is not None else password is None:
            issued = tokens.create(session, account.id, operator(), name="命令行创建")[1]
    if issued is not None:
        console.print(issued, soft_wrap=True, highlight=False)
    else:
        console.print(f"已创建账号 {account.name}（{account.role_label}，{account.scope_label}）")


@app.command("list")
def users_list(
    all_: Annotated[bool, typer.Option("--all", help="Include disabled accounts.")] = False,
) -> None:
    """The accounts, with role, scope, state and last sign-in."""
    from landmatch.accounts import users

    with reading() as session:
        page = users.listing(session, operator(), active=None if all_ else True, limit=100_000)
    table = Table("用户名", "角色", "范围", "状态", "上次登录")
    for a in page.items:
        state = "已停用" if not a.active else ("待改密码" if a.must_change_password else "启用")
        if a.active and not a.has_password:
            state = "仅令牌"
        table.add_row(a.name, a.role_label, a.scope_label, state, _when(a.last_login_at))
    console.print(table)


@app.command("tokens")
def users_tokens(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """An account's API tokens (the tokens themselves are never shown again)."""
    from landmatch.accounts import tokens, users

    with reading() as session:
        found = tokens.of_user(session, users.get(session, name).id, operator())
    table = Table("编号", "名称", "创建", "到期", "最近使用", "状态")
    for t in found:
        table.add_row(
            str(t.id),
            t.name or "—",
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at),
            t.state_label,
        )
    console.print(table)


@app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="Login name.")],
    label: Annotated[str | None, typer.Option("--name", help="What the token is for.")] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, max=3650, help="Expires after N days.")
    ] = None,
) -> None:
    """Create an API token for an account and print it (shown once)."""
    from landmatch.accounts import tokens, users

    expires = None if days is None else dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    with transaction() as session:
        account = users.get(session, name)
        token = tokens.create(session, account.id, operator(), name=label, expires_at=expires)[1]
    console.print(token, soft_wrap=True, highlight=False)


@app.command("revoke")
def users_revoke(
    token: Annotated[str, typer.Argument(help="The token's number (users tokens) or the token.")],
) -> None:
    """Revoke an API token, given by its number or as the token itself."""
    from landmatch.accounts import tokens

    with transaction() as session:
        tid = int(token) if token.isdigit() else tokens.id_of(session, token)
        info = tokens.revoke(session, tid, operator())
    console.print(
        f"已吊销令牌 {info.id}（{info.user_name}{'，' + info.name if info.name else ''}）"
    )


@app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account: its sessions end and its tokens stop working at once."""
    from landmatch.accounts import users

    with transaction() as session:
        users.set_active(session, name, False, operator())
    console.print(f"已停用账号 {name}")


@app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled account again."""
    from landmatch.accounts import users

    with transaction() as session:
        users.set_active(session, name, True, operator())
    console.print(f"已启用账号 {name}")


@app.command("reset-password")
def users_reset_password(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a new initial password (read from standard input); the user changes it at sign-in."""
    from landmatch.accounts import users

    if not password_stdin:
        raise typer.BadParameter(
            "请用 --password-stdin 从标准输入提供新密码", param_hint="--password-stdin"
        )
    password = _read_password()
    with transaction() as session:
        users.reset_password(
            session, name, password, operator(), min_length=settings().password_min_length
        )
    console.print(f"已重置 {name} 的密码：其会话已结束，下次登录须修改密码")

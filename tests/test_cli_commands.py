"""The ``landmatch`` command tree: every command the areas of ``landmatch/cli/`` define is
reachable from the root app (the package mirrors ``landmatch/api/routes``)."""

from __future__ import annotations

from typing import Any


def _commands(command: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    if hasattr(command, "commands"):
        return [
            c for name, sub in command.commands.items() for c in _commands(sub, (*prefix, name))
        ]
    return [" ".join(prefix)]


def test_the_command_tree() -> None:
    """Every command the package's areas define is reachable from ``landmatch``."""
    import typer.main

    from landmatch.cli import app

    assert sorted(_commands(typer.main.get_command(app))) == [
        "basemap build",
        "check",
        "db backup",
        "db prune-runs",
        "db restore",
        "db settle",
        "db upgrade",
        "export",
        "idle-scan",
        "import",
        "import-rollback",
        "layers alerts",
        "layers coverage declare",
        "layers coverage list",
        "layers coverage withdraw",
        "layers delete",
        "layers import",
        "match",
        "policies add",
        "policies delete",
        "policies import",
        "policies list",
        "policies show",
        "policies update",
        "seed",
        "serve",
        "users add",
        "users disable",
        "users enable",
        "users list",
        "users reset-password",
        "users revoke",
        "users token",
        "users tokens",
        "zones boundary",
        "zones list",
        "zones membership",
    ]

"""The ``watchkeeper`` command's Typer application, a family of command groups, a module each:

    decide.py      check, explain, init, test, lint
    serve.py       serve
    audit.py       db upgrade, audit verify|tail|show|export|checkpoint|key|prove
    identities.py  agents, users
    mcp.py         mcp-proxy (the MCP gateway)
    approvals.py   approvals, pause, resume (a person's side of the server, over HTTP)
    shared.py      failing with a message, printing, options, finding the standing orders

Each command imports what it needs when it runs, so ``watchkeeper --help`` stays quick.

Exit status: 0 when a decision was made (or, with ``--exit-code``: 0 allow, 10 ask, 20 deny),
1 for a failed check (``lint``, ``test``), 2 for usage errors and refused standing orders.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from watchkeeper import __version__
from watchkeeper.cli import (
    approvals,
    audit,
    cases,
    decide,
    identities,
    incidents,
    install,
    mcp,
    scorecards,
    serve,
    terraform,
    watch,
)
from watchkeeper.cli.shared import out, shown_lines
from watchkeeper.errors import WatchkeeperError

__all__ = ["app", "run"]

app = typer.Typer(
    name="watchkeeper",
    help="Operational control for AI agents: decide, explain and test actions "
    "against standing orders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"watchkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """watchkeeper keeps the watch for AI agents."""


app.command()(decide.check)
app.command()(decide.explain)
app.command()(decide.init)
app.command("test")(decide.run_tests)
app.command()(decide.lint)
app.command()(serve.serve)
app.add_typer(audit.db_app, name="db")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(identities.agents_app, name="agents")
app.add_typer(identities.users_app, name="users")
app.add_typer(approvals.approvals_app, name="approvals")
app.add_typer(approvals.pause_app, name="pause")
app.add_typer(cases.cases_app, name="cases")
app.command("resume")(approvals.resume)
app.command("alerts")(watch.alerts)
app.add_typer(watch.watch_app, name="watch")
app.add_typer(incidents.incident_app, name="incident")
app.command("scorecard")(scorecards.scorecard)
app.add_typer(install.install_app, name="install")
app.add_typer(terraform.terraform_app, name="terraform")
app.command("mcp-proxy")(mcp.mcp_proxy)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def hook(ctx: typer.Context) -> None:
    """Answer an agent's hook event read on stdin: `hook claude-code` (docs/claude-code.md)."""
    from watchkeeper.doors.hook import main as run_hook

    raise typer.Exit(run_hook(list(ctx.args)))


_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command("sh", context_settings=_PASS_THROUGH)
def shell(ctx: typer.Context) -> None:
    """`sh -c COMMAND` that asks first: run if allowed, else exit 126 (docs/shell.md)."""
    from watchkeeper.doors.shell import main as run_shell

    raise typer.Exit(run_shell("sh", list(ctx.args)))


@app.command("exec", context_settings=_PASS_THROUGH)
def execute(ctx: typer.Context) -> None:
    """`exec -- PROGRAM ARGS…`: one program, no shell, asked about first (docs/shell.md)."""
    from watchkeeper.doors.shell import main as run_shell

    raise typer.Exit(run_shell("exec", list(ctx.args)))


def run() -> None:
    """The whole command line (:func:`watchkeeper.cli.main` takes the fast paths first)."""
    try:
        app()
    except WatchkeeperError as exc:
        sys.stderr.write(shown_lines(str(exc)) + "\n")
        sys.exit(2)

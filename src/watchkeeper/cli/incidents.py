"""``watchkeeper incident …``: damage tied to the actions that caused it, over the server's API.

    watchkeeper incident open --action 412 --action 415 --severity high \\
        --summary "the prod bucket was emptied"
    watchkeeper incident list                      # open ones (--state closed|all)
    watchkeeper incident show 7c0e                 # any unique prefix of the id
    watchkeeper incident close 7c0e --resolution "restored from snapshot snap-9"

An incident debits the agent, the rules that let the action through and the people who
approved it (``watchkeeper scorecard``). Exit codes: 0 done, 1 refused by the server, 2 bad
usage or no server.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from watchkeeper.cli.approvals import (
    DEFAULT_SERVER,
    JsonOption,
    ServerOption,
    TokenOption,
    _print,
    _resolve,
    _segment,
    _when,
    call,
)
from watchkeeper.orders.schema import SEVERITIES
from watchkeeper.terminal import shown, text

incident_app = typer.Typer(
    help="Incidents: damage tied to the actions, rules and approvers that let it happen.",
    no_args_is_help=True,
)
IncidentArgument = Annotated[str, typer.Argument(help="The incident's id, or a unique start.")]


def _show(view: dict[str, Any], console: Console) -> None:
    closed = (
        f" by {view.get('closed_by')}: {view.get('resolution')}" if view.get("closed_by") else ""
    )
    lines = [
        Text.assemble(text(f"incident {view['id']}", "bold"),
                      text(f": {view['state']}{closed}")),
        text(f"  severity  {view.get('severity')}"),
        text(f"  summary   {view.get('summary')}"),
        text(f"  opened    {_when(view.get('opened_at'))} by {view.get('opened_by')}"),
    ]  # fmt: skip
    for a in view.get("actions") or ():
        rules = ", ".join(a.get("rules") or ()) or "no rule (the environment's default)"
        people = ", ".join(a.get("approvers") or ()) or "nobody"
        lines.append(text(f"  action {a.get('action_index')}: {a.get('agent')}, "
                          f"{a.get('decision')} by {rules}; approved by {people}"))  # fmt: skip
    for line in lines:
        console.print(line, soft_wrap=True)


@incident_app.command("open")
def incident_open(
    action: Annotated[
        list[int], typer.Option("--action", help="An action id (its audit index); repeat it.")
    ],
    severity: Annotated[str, typer.Option("--severity", help=", ".join(SEVERITIES))],
    summary: Annotated[str, typer.Option("--summary", help="What happened.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report damage, tied to the actions that caused it."""
    body = call(server, token, "POST", "/v1/incidents",
                json={"actions": action, "severity": severity, "summary": summary})  # fmt: skip
    if not _print(body, as_json):
        _show(body, Console())


@incident_app.command("close")
def incident_close(
    incident_id: IncidentArgument,
    resolution: Annotated[str, typer.Option("--resolution", help="What resolved it.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close an incident, saying what resolved it."""
    found = _resolve(server, token, incident_id, "incident")
    body = call(server, token, "POST", f"/v1/incidents/{_segment(found)}/close",
                json={"resolution": resolution})  # fmt: skip
    if not _print(body, as_json):
        print(shown(f"closed: incident {found} by {body.get('closed_by')}"))


@incident_app.command("show")
def incident_show(
    incident_id: IncidentArgument,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One incident: its actions, agents, rules and approvers."""
    found = _resolve(server, token, incident_id, "incident")
    body = call(server, token, "GET", f"/v1/incidents/{_segment(found)}")
    if not _print(body, as_json):
        _show(body, Console())


@incident_app.command("list")
def incident_list(
    state: Annotated[str, typer.Option("--state", help="open, closed or all.")] = "open",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Incidents, newest first."""
    body = call(server, token, "GET", "/v1/incidents", params={"state": state})
    if _print(body, as_json):
        return
    rows = body.get("incidents") or []
    if not rows:
        print(f"no {state} incidents" if state != "all" else "no incidents")
        return
    whole = Column("id", no_wrap=True, min_width=32, overflow="ignore")
    table = Table(whole, "state", "severity", "opened", "by", "actions", "summary")
    for i in rows:
        cells = (i.get("id"), i.get("state"), i.get("severity"), _when(i.get("opened_at")),
                 i.get("opened_by"), len(i.get("actions") or ()), i.get("summary"))  # fmt: skip
        table.add_row(*(text(str(c if c is not None else "")) for c in cells))
    Console().print(table)

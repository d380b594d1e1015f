"""``watchkeeper cases …``: people working the cases agents hand them, over the server's API.

    watchkeeper cases list                       # the queue: open and claimed, oldest first
    watchkeeper cases show 7c0e                  # any unique prefix of the id
    watchkeeper cases claim 7c0e
    watchkeeper cases hand-back 7c0e -m "refund 600 now, the rest after the bank confirms"
    watchkeeper cases resolve 7c0e -m "refunded by hand; customer told by email"
    watchkeeper cases release 7c0e -m "billing should take this"

Like ``approvals``, these talk to a running server with a person's token (``WATCHKEEPER_SERVER``,
``WATCHKEEPER_TOKEN``). Exit codes: 0 done, 1 refused by the server, 2 bad usage or no server.
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
from watchkeeper.terminal import text

cases_app = typer.Typer(help="Work the cases agents hand to people.", no_args_is_help=True)

CaseArgument = Annotated[str, typer.Argument(help="The case's id, or a unique start of it.")]


def _show(view: dict[str, Any], console: Console) -> None:
    """The case as a person reads it: who, what the customer wants, why the agent stopped,
    what it tried, and the conversation's tail."""
    state = view["state"].replace("_", " ")
    holder = view.get("closed_by") or view.get("claimed_by")
    head = f": {state}" + (f" ({holder})" if holder else "")
    session = f"  session {view['session']}" if view.get("session") else ""
    lines = [
        Text.assemble(text(f"case {view['id']}", "bold"), text(head)),
        text(f"  agent     {view['agent']}{session}"),
        text(f"  opened    {_when(view.get('created_at'))}"),
        text(f"  summary   {view.get('summary')}"),
        text(f"  why       {view.get('why')}"),
    ]
    for label in ("customer", "asks_for"):
        if view.get(label):
            lines.append(text(f"  {label.replace('_', ' '):<9} {view[label]}"))
    for n, tried in enumerate(view.get("tried") or ()):
        lines.append(text(f"  {'tried' if n == 0 else '':<9} {tried}"))
    if view.get("transcript"):
        lines.append(text("  transcript", "bold"))
        for message in view["transcript"]:
            lines.append(text(f"    {message.get('role')}: {message.get('text')}"))
    if view.get("notes"):
        lines.append(text(f"  notes     {view['notes']}"))
    for line in lines:
        console.print(line)


def _table(rows: list[dict[str, Any]]) -> Table:
    whole = Column("id", no_wrap=True, min_width=32, overflow="ignore")
    table = Table(whole, "state", "agent", "held by", "opened", "summary")
    for view in rows:
        cells = (view["id"], view["state"].replace("_", " "), view["agent"],
                 view.get("closed_by") or view.get("claimed_by") or "",
                 _when(view.get("created_at")), view.get("summary") or "")  # fmt: skip
        table.add_row(*(text(cell) for cell in cells))
    return table


@cases_app.command("list")
def cases_list(
    state: Annotated[
        str,
        typer.Option(
            "--state",
            help="active (open and claimed: the queue), open, claimed, resolved, handed_back "
            "or all.",
        ),
    ] = "active",
    agent: Annotated[str, typer.Option("--agent", help="One agent's cases.")] = "",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cases: the queue, oldest first, unless --state says otherwise."""
    params = {"state": state, **({"agent": agent} if agent else {})}
    body = call(server, token, "GET", "/v1/cases", params=params)
    if _print(body, as_json):
        return
    rows = body.get("cases") or []
    if not rows:
        print("no cases in the queue" if state == "active" else f"no {state} cases")
        return
    Console().print(_table(rows))


@cases_app.command("show")
def cases_show(
    case_id: CaseArgument,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One case, whole."""
    case_id = _resolve(server, token, case_id, "case")
    view = call(server, token, "GET", f"/v1/cases/{_segment(case_id)}")
    if not _print(view, as_json):
        _show(view, Console())


def _step(case_id: str, change: str, notes: str, server: str, token: str | None,
          as_json: bool) -> None:  # fmt: skip
    case_id = _resolve(server, token, case_id, "case")
    view = call(server, token, "POST", f"/v1/cases/{_segment(case_id)}/{change}",
                json={"notes": notes})  # fmt: skip
    if not _print(view, as_json):
        _show(view, Console())


@cases_app.command("claim")
def cases_claim(
    case_id: CaseArgument,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take the case from the queue: it is yours until you resolve, hand back or release it."""
    _step(case_id, "claim", "", server, token, as_json)


@cases_app.command("resolve")
def cases_resolve(
    case_id: CaseArgument,
    notes: Annotated[str, typer.Option("--notes", "-m", help="How you resolved it.")] = "",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """You dealt with it: the agent tells the customer it is handled, and does nothing else."""
    _step(case_id, "resolve", notes, server, token, as_json)


@cases_app.command("hand-back")
def cases_hand_back(
    case_id: CaseArgument,
    notes: Annotated[
        str, typer.Option("--notes", "-m", help="What the agent should do now: it follows them.")
    ] = "",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back to the agent, which goes on with the conversation as your notes say."""
    _step(case_id, "hand-back", notes, server, token, as_json)


@cases_app.command("release")
def cases_release(
    case_id: CaseArgument,
    notes: Annotated[str, typer.Option("--notes", "-m", help="Why, for who takes it next.")] = "",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put the case back in the queue for someone else (yours, or anyone's as an admin)."""
    _step(case_id, "release", notes, server, token, as_json)

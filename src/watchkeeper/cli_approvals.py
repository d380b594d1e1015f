"""``watchkeeper approvals …``, ``pause`` and ``resume``: people answering, over the server's API.

    export WATCHKEEPER_SERVER=http://127.0.0.1:8470 WATCHKEEPER_TOKEN=…   # `users token EMAIL`
    watchkeeper approvals list
    watchkeeper approvals show 3f2a…
    watchkeeper approvals approve 3f2a… --comment "snapshot snap-123 taken"
    watchkeeper approvals deny 3f2a… --comment "not during the freeze"
    watchkeeper pause --agent infra-bot --reason "deleting the wrong buckets"
    watchkeeper resume 9c1d… --reason "bucket policy fixed"

Unlike ``agents``/``users``, these talk to a running server with a person's token: votes are
judged, recorded and announced there. Exit codes: 0 done, 1 refused by the server (the reason is
printed), 2 bad usage or no server.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from watchkeeper import strict_json
from watchkeeper.errors import InvalidJSON
from watchkeeper.terminal import shown, text

approvals_app = typer.Typer(help="Review and answer approvals.", no_args_is_help=True)

ServerOption = Annotated[
    str,
    typer.Option("--server", envvar="WATCHKEEPER_SERVER", help="The server's address."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="WATCHKEEPER_TOKEN",
        help="Your personal token (`watchkeeper users token EMAIL`).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")]
DEFAULT_SERVER = "http://127.0.0.1:8470"


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(shown(message.rstrip("\n")) + "\n")
    raise typer.Exit(code)


def _segment(value: str) -> str:
    """An id as one segment of a URL path, whatever it holds (``/``, ``..``, control characters)."""
    return quote(value, safe="")


def call(server: str, token: str | None, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One API request as a person; exits with the server's reason when refused."""
    if not token:
        _fail("no token: pass --token or set WATCHKEEPER_TOKEN (`watchkeeper users token EMAIL`)")
    try:
        answer = httpx.request(
            method,
            server.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            **kwargs,
        )
    except httpx.HTTPError as exc:
        _fail(f"the server at {server} cannot be reached: {exc}")
    try:
        body = strict_json.loads(answer.content, what="the server's answer")
    except InvalidJSON as exc:
        _fail(f"the server at {server} answered {answer.status_code} without usable JSON: {exc}")
    if answer.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        _fail(f"refused ({answer.status_code} {error.get('code')}): {error.get('message')}", 1)
    return body if isinstance(body, dict) else {"answer": body}


def _print(body: Any, as_json: bool) -> bool:
    if as_json:
        print(json.dumps(body, indent=2, sort_keys=True))
    return as_json


def _requirements(view: dict[str, Any]) -> str:
    parts = []
    for r in view.get("required") or ():
        who = r.get("group") or ", ".join(r.get("users") or ()) or "any approver"
        parts.append(f"{r.get('quorum', 1)} of {who} ({r.get('rule')})")
    return "; ".join(parts)


def _show(view: dict[str, Any], console: Console) -> None:
    lines = [
        Text.assemble(text(f"approval {view['id']}", "bold"), text(f": {view['state']}")),
        text(f"  agent     {view['agent']}"),
        text(f"  action    #{view['action_index']}  {view['digest']}"),
        text(f"  needs     {_requirements(view)}"),
    ]
    for v in view.get("votes") or ():
        glass = "  BREAK-GLASS" if v.get("break_glass") else ""
        lines.append(
            text(f"  vote      {v['email']}: {v['vote']}{glass}  {v.get('comment') or ''}")
        )
    if view.get("consumed"):
        lines.append(Text("  grant     used"))
    for line in lines:
        console.print(line)


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "state", "agent", "needs", "votes")
    for view in rows:
        votes = ", ".join(f"{v['email']}:{v['vote']}" for v in view.get("votes") or ())
        cells = (view["id"], view["state"], view["agent"], _requirements(view), votes)
        table.add_row(*(text(cell) for cell in cells))
    return table


@approvals_app.command("list")
def approvals_list(
    state: Annotated[
        str, typer.Option("--state", help="pending, approved, denied, expired, cancelled or all.")
    ] = "pending",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approvals, newest first (pending ones unless --state says otherwise)."""
    body = call(server, token, "GET", "/v1/approvals", params={"state": state})
    if _print(body, as_json):
        return
    rows = body.get("approvals") or []
    if not rows:
        print(shown(f"no {state} approvals" if state != "all" else "no approvals"))
        return
    Console().print(_table(rows))


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One approval: who asked for what, what it needs, the votes so far."""
    view = call(server, token, "GET", f"/v1/approvals/{_segment(approval_id)}")
    if not _print(view, as_json):
        _show(view, Console())


def _vote(
    approval_id: str, choice: str, comment: str, glass: bool, server: str, token: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    body = {"vote": choice, "comment": comment, "break_glass": glass}
    view = call(server, token, "POST", f"/v1/approvals/{_segment(approval_id)}/votes", json=body)
    if not _print(view, as_json):
        _show(view, Console())


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="What you checked.")] = "",
    break_glass: Annotated[
        bool,
        typer.Option("--break-glass", help="Admins: approve alone; needs --comment as reason."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve: your vote counts toward the requirements that name you."""
    _vote(approval_id, "approve", comment, break_glass, server, token, as_json)


@approvals_app.command("deny")
def approvals_deny(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why: the agent is told.")] = "",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deny: one eligible deny denies the action."""
    _vote(approval_id, "deny", comment, False, server, token, as_json)


def pause(
    reason: Annotated[str, typer.Option("--reason", help="Why; whoever resumes reads it.")],
    agent: Annotated[str | None, typer.Option("--agent", help="Pause one agent.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Pause one session.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The kill switch: deny every action, of everyone, one agent or one session.

    Pending approvals in scope are cancelled and unused grants revoked; it holds until a
    person resumes it."""
    if agent and session:
        _fail("give --agent or --session, not both (or neither, to pause everything)")
    scope, target = ("agent", agent) if agent else ("session", session) if session else ("all", "")
    body = call(server, token, "POST", "/v1/pause",
                json={"scope": scope, "target": target or "", "reason": reason})  # fmt: skip
    if _print(body, as_json):
        return
    what = "everything" if scope == "all" else f"{scope} {target}"
    print(shown(f"paused {what} (pause {body['id']}); cancelled "
                f"{len(body.get('cancelled') or [])} approvals"))  # fmt: skip


def resume(
    pause_id: Annotated[
        str, typer.Argument(help="The pause's id (`watchkeeper pause` printed it).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is safe again.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a pause. What it cancelled stays cancelled: agents ask again."""
    body = call(server, token, "DELETE", f"/v1/pause/{_segment(pause_id)}", json={"reason": reason})
    if not _print(body, as_json):
        print(shown(f"resumed: pause {pause_id} lifted by {body.get('resumed_by')}"))

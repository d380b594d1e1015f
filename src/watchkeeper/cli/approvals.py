"""``watchkeeper approvals …``, ``pause`` and ``resume``: people answering, over the server's API.

    export WATCHKEEPER_SERVER=http://127.0.0.1:8470 WATCHKEEPER_TOKEN=…   # `users token EMAIL`
    watchkeeper approvals list
    watchkeeper approvals show 3f2a                      # any unique prefix of the id
    watchkeeper approvals approve 3f2a --comment "snapshot snap-123 taken"
    watchkeeper approvals deny 3f2a --comment "not during the freeze"
    watchkeeper pause --agent infra-bot --reason "deleting the wrong buckets"
    watchkeeper pause list
    watchkeeper resume 9c1d --reason "bucket policy fixed"

Unlike ``agents``/``users``, these talk to a running server with a person's token: votes are
judged, recorded and announced there. Exit codes: 0 done, 1 refused by the server (the reason is
printed), 2 bad usage or no server.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from watchkeeper import strict_json
from watchkeeper.config import SETTING
from watchkeeper.errors import InvalidJSON
from watchkeeper.terminal import shown, text
from watchkeeper.wording import plural

approvals_app = typer.Typer(help="Review and answer approvals.", no_args_is_help=True)

ServerOption = Annotated[
    str,
    typer.Option("--server", envvar=SETTING["server"].env, help="The server's address."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=SETTING["token"].env,
        help="Your personal token (`watchkeeper users token EMAIL`).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")]
DEFAULT_SERVER: str = SETTING["server"].default
#: Kept out of --help: there only to point those who reach for it at --comment.
MessageOption = Annotated[str | None, typer.Option("--message", hidden=True)]


def _no_message(message: str | None) -> None:
    if message is not None:
        _fail("--message is not an option: use --comment (or -m) for what the agent is told")


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(shown(message.rstrip("\n")) + "\n")
    raise typer.Exit(code)


def _segment(value: str) -> str:
    """An id as one segment of a URL path, whatever it holds (``/``, ``..``, control characters)."""
    return quote(value, safe="")


def call(server: str, token: str | None, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One API request as a person; exits with the server's reason when refused."""
    import httpx  # here, not at start-up: only these commands talk HTTP

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


def by_prefix(server: str, token: str | None, given: str, path: str, kind: str, hint: str) -> str:
    """The id ``given`` names among the whole list at ``path`` (``?all=true``): itself, or the
    one whose id starts with it, as git takes a commit; refused, naming the candidates and
    where to look (``hint``), when that is not exactly one."""
    if len(given) >= 32:
        return given
    found = call(server, token, "GET", path, params={"all": "true"}).get(f"{kind}s")
    ids = [str(p.get("id")) for p in found or () if str(p.get("id")).startswith(given)]
    if len(ids) != 1:
        listed = f": {', '.join(ids)}" if ids else ""
        _fail(f"{given!r} is the start of {plural(len(ids), f'{kind} id')}{listed}; see {hint}")
    return ids[0]


def _print(body: Any, as_json: bool) -> bool:
    if as_json:
        print(json.dumps(body, indent=2, sort_keys=True))
    return as_json


def _requirements(view: dict[str, Any]) -> str:
    """``1 of 2: group sre (rule)``: each requirement with the approvals it has so far."""
    parts = []
    progress = list(view.get("progress") or ())
    for n, r in enumerate(view.get("required") or ()):
        groups = [r.get("group"), *(r.get("escalated_to") or ())]
        who = (
            ", ".join([*(f"group {g}" for g in groups if g), *(r.get("users") or ())])
            or "any approver"
        )
        have = progress[n].get("have") if n < len(progress) else None
        needs = r.get("quorum") or 1
        counted = f"{have} of {needs}" if have is not None else f"needs {needs}"
        parts.append(f"{counted}: {who} ({r.get('rule')})")
    return "; ".join(parts)


def _resolve(server: str, token: str | None, given: str, kind: str = "approval") -> str:
    """The id of the approval (or case, by ``kind``) ``given`` names: itself, or the one whose
    id starts with it (as git takes a commit); refused, naming the candidates, when that is
    not exactly one."""
    if len(given) == 32:
        return given
    query = {"state": "all", "prefix": given, "limit": 10}
    found = call(server, token, "GET", f"/v1/{kind}s", params=query).get(f"{kind}s") or []
    ids = [str(a.get("id")) for a in found]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        group = "incident" if kind == "incident" else f"{kind}s"
        _fail(f"no {kind} id starts with {given!r}; `watchkeeper {group} list --state all`", 1)
    _fail(f"{given!r} is the start of {plural(len(ids), f'{kind} id')} ({', '.join(ids)}); "
          "give more of it")  # fmt: skip


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
    lines += _handoff(view.get("handoff") or {})
    for line in lines:
        console.print(line)


def _handoff(handoff: dict[str, Any]) -> list[Text]:
    """The packet: what the agent wants and why, what it would really do and how to undo it,
    the rules that asked, and what came before."""
    lines: list[Text] = []
    found = handoff.get("action")
    action: dict[str, Any] = found if isinstance(found, dict) else {}
    given: dict[str, Any] = action["input"] if isinstance(action.get("input"), dict) else {}
    intent: dict[str, Any] = action["intent"] if isinstance(action.get("intent"), dict) else {}
    agent = handoff.get("agent") if isinstance(handoff.get("agent"), dict) else {}
    if agent and agent.get("owner"):
        lines.append(text(f"  owner     {agent['owner']}"))
    if handoff.get("deadline"):
        lines.append(text(f"  deadline  {_when(handoff['deadline'])}"))
    where = handoff.get("environment") or action.get("environment") or "-"
    if action:
        lines.append(text(f"  tool      {action.get('tool')}  environment {where}"))
    lines += _intent(intent)
    effects = [e for e in handoff.get("effects") or () if isinstance(e, dict)]
    for key in ("command", "statement", "sql", "query"):
        if isinstance(given.get(key), str):
            lines.append(Text.assemble(text(f"  {key:<9} "), _marked(given[key], key, effects)))
    for reason in handoff.get("reasons") or ():
        lines.append(text(f"  why       {reason}"))
    for rule in handoff.get("asking") or ():
        owner = f", owner {rule['owner']}" if rule.get("owner") else ""
        lines.append(text(f"  rule      {rule.get('name')}{owner}  {rule.get('source') or ''}"))
    for said in handoff.get("instructions") or ():
        lines.append(text(f"  do first  {said}"))
    lines += _effects(effects)
    for label, key in (("session", "session"), ("before", "similar")):
        for entry in (handoff.get(key) or [])[:5]:
            lines.append(text(f"  {label:<9} {_past(entry)}"))
    return lines


def _intent(intent: dict[str, Any]) -> list[Text]:
    """What the agent said it is doing, in its own words."""
    lines = []
    for label, key in (("goal", "goal"), ("plan", "plan"), ("step", "step"),
                       ("because", "rationale"), ("doubts", "doubts"),
                       ("evidence", "evidence")):  # fmt: skip
        value = intent.get(key)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        if value not in (None, ""):
            lines.append(text(f"  {label:<9} {value}"))
    return lines


def _marked(value: str, field: str, effects: list[dict[str, Any]]) -> Text:
    """``value`` with what each effect reads of it in reverse video, every character that is
    not plainly visible escaped."""
    spans = sorted(
        (span["start"], span["end"])
        for e in effects
        if isinstance(span := e.get("span"), dict) and span.get("field") == field
        and isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
        and 0 <= span["start"] < span["end"] <= len(value)
    )  # fmt: skip
    out, at = Text(), 0
    for start, end in spans:
        start = max(start, at)
        if start >= end:
            continue
        out.append_text(text(value[at:start]))
        out.append_text(text(value[start:end], "reverse"))
        at = end
    out.append_text(text(value[at:]))
    return out


def _effects(effects: list[dict[str, Any]]) -> list[Text]:
    lines = []
    for effect in effects:
        target = effect.get("target") or {}
        attributes = effect.get("attributes") or {}
        summary = attributes.get("summary")
        if isinstance(summary, dict) and summary.get("counts"):
            counts = ", ".join(f"{n} {a}" for a, n in sorted(summary["counts"].items()))
            lines.append(text(f"  plan      {counts}"))
        if effect.get("verb") in ("read",):
            continue
        recoverable = {"yes": "recoverable", "no": "NOT RECOVERABLE"}.get(
            str(effect.get("reversible")), "recovery unknown"
        )
        held = f" (holds {attributes['stateful']})" if attributes.get("stateful") else ""
        how = f": {effect['recovery']}" if effect.get("recovery") else ""
        what = target.get("id") or (f"({attributes['count']} of them)"
                                     if attributes.get("count") else "")  # fmt: skip
        lines.append(text(f"  effect    {effect.get('verb')} {target.get('kind')} "
                          f"{what}{held}  {recoverable}{how}"))  # fmt: skip
    return lines


def _past(entry: dict[str, Any]) -> str:
    """One earlier action: ``#12 ask, denied: shell: rm -rf /srv/cache (failed)``."""
    decided = str(entry.get("decision") or "?")
    if entry.get("approval"):
        decided += f", {entry['approval']}"
    ended = f" ({', '.join(entry['outcomes'])})" if entry.get("outcomes") else ""
    return f"#{entry.get('index')} {decided}: {entry.get('what')}{ended}"


def _when(epoch: object) -> str:
    """An epoch time as UTC, with how far off it is."""
    import datetime
    import time

    try:
        at = float(str(epoch))
    except ValueError:
        return str(epoch)
    stamp = datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    left = at - time.time()
    far = f"in {plural(max(1, round(left / 60)), 'minute')}" if left > 0 else "passed"
    return f"{stamp} ({far})"


def _table(rows: list[dict[str, Any]]) -> Table:
    # The id whole, never cut or wrapped: it is what people copy into the next command.
    whole = Column("id", no_wrap=True, min_width=32, overflow="ignore")
    table = Table(whole, "state", "agent", "about", "approvals so far", "votes")
    for view in rows:
        votes = ", ".join(f"{v['email']}:{v['vote']}" for v in view.get("votes") or ())
        cells = (view["id"], view["state"], view["agent"], view.get("what") or "",
                 _requirements(view), votes)  # fmt: skip
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
    approval_id = _resolve(server, token, approval_id)
    view = call(server, token, "GET", f"/v1/approvals/{_segment(approval_id)}")
    if not _print(view, as_json):
        _show(view, Console())


def _vote(
    approval_id: str, choice: str, comment: str, glass: bool, server: str, token: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    body = {"vote": choice, "comment": comment, "break_glass": glass}
    approval_id = _resolve(server, token, approval_id)
    view = call(server, token, "POST", f"/v1/approvals/{_segment(approval_id)}/votes", json=body)
    if not _print(view, as_json):
        _show(view, Console())


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="What you checked.")] = "",
    message: MessageOption = None,
    break_glass: Annotated[
        bool,
        typer.Option("--break-glass", help="Admins: approve alone; needs --comment as reason."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve: your vote counts toward the requirements that name you."""
    _no_message(message)
    _vote(approval_id, "approve", comment, break_glass, server, token, as_json)


@approvals_app.command("deny")
def approvals_deny(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why: the agent is told.")] = "",
    message: MessageOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deny: one eligible deny denies the action."""
    _no_message(message)
    _vote(approval_id, "deny", comment, False, server, token, as_json)


pause_app = typer.Typer(
    help="The kill switch: pause everything, an agent or a session; `pause list` shows them.",
)


@pause_app.callback(invoke_without_command=True)
def pause(
    ctx: typer.Context,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; whoever resumes reads it. Required.")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Pause one agent.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Pause one session.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The kill switch: deny every action, of everyone, one agent or one session.

    Pending approvals in scope are cancelled and unused grants revoked; it holds until a
    person resumes it. `watchkeeper pause list` shows the pauses in force."""
    if ctx.invoked_subcommand is not None:
        return
    if not reason:
        _fail("--reason is required: say why, for whoever resumes it")
    if agent and session:
        _fail("give --agent or --session, not both (or neither, to pause everything)")
    scope, target = ("agent", agent) if agent else ("session", session) if session else ("all", "")
    body = call(server, token, "POST", "/v1/pause",
                json={"scope": scope, "target": target or "", "reason": reason})  # fmt: skip
    if _print(body, as_json):
        return
    what = "everything" if scope == "all" else f"{scope} {target}"
    cancelled = plural(len(body.get("cancelled") or []), "approval")
    print(shown(f"paused {what} (pause {body['id']}); cancelled {cancelled}"))


@pause_app.command("list")
def pause_list(
    every: Annotated[
        bool, typer.Option("--all", help="Resumed pauses too, not only those in force.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The pauses in force (with --all, resumed ones too), newest first."""
    body = call(server, token, "GET", "/v1/pause", params={"all": "true" if every else "false"})
    if _print(body, as_json):
        return
    rows = body.get("pauses") or []
    if not rows:
        print("no pauses in force" if not every else "no pauses")
        return
    whole = Column("id", no_wrap=True, min_width=32, overflow="ignore")
    table = Table(whole, "scope", "since", "by", "reason", "resumed")
    for p in rows:
        scope = "everything" if p.get("scope") == "all" else f"{p.get('scope')} {p.get('target')}"
        resumed = (f"{p.get('resumed_at')} by {p.get('resumed_by')}: {p.get('resume_reason')}"
                   if p.get("resumed_at") else "in force")  # fmt: skip
        cells = (p.get("id"), scope, p.get("created_at"), p.get("paused_by"), p.get("reason"),
                 resumed)  # fmt: skip
        table.add_row(*(text(str(c or "")) for c in cells))
    Console().print(table)


def resume(
    pause_id: Annotated[
        str, typer.Argument(help="The pause's id (`watchkeeper pause` printed it).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is safe again.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a pause (its id, or any unique prefix of it). What it cancelled stays cancelled:
    agents ask again."""
    pause_id = by_prefix(server, token, pause_id, "/v1/pause", "pause",
                         "`watchkeeper pause list`")  # fmt: skip
    body = call(server, token, "DELETE", f"/v1/pause/{_segment(pause_id)}", json={"reason": reason})
    if not _print(body, as_json):
        print(shown(f"resumed: pause {pause_id} lifted by {body.get('resumed_by')}"))

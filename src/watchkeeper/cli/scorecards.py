"""``watchkeeper scorecard``: the credit and the debit of agents, rules and approvers.

    watchkeeper scorecard                          # every agent, the last 30 days
    watchkeeper scorecard --by rule --since 7d     # every rule, with suggestions
    watchkeeper scorecard --approver bob@example.com --json

Read from the server's audit log with a person's token (``WATCHKEEPER_SERVER``,
``WATCHKEEPER_TOKEN``). Exit codes: 0 done, 1 refused by the server, 2 bad usage or no server.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from watchkeeper.cli.approvals import (
    DEFAULT_SERVER,
    JsonOption,
    ServerOption,
    TokenOption,
    _fail,
    _print,
    call,
)
from watchkeeper.terminal import text


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def scorecard(
    by: Annotated[str, typer.Option("--by", help="agent, rule or approver.")] = "agent",
    agent: Annotated[str, typer.Option("--agent", help="One agent's card.")] = "",
    rule: Annotated[str, typer.Option("--rule", help="One rule's card.")] = "",
    approver: Annotated[str, typer.Option("--approver", help="One approver's card.")] = "",
    since: Annotated[str, typer.Option("--since", help="The period: 30d, 12h, …")] = "30d",
    rubber_stamp: Annotated[
        str, typer.Option("--rubber-stamp", help="An approval faster than this is a stamp.")
    ] = "10s",
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per agent, rule or approver: actions, autonomy, asks, approvals and how fast, rubber
    stamps, overrides, outcomes and incidents per 1,000 actions; and suggestions."""
    named = [(k, v) for k, v in (("agent", agent), ("rule", rule), ("approver", approver)) if v]
    if len(named) > 1:
        _fail("give one of --agent, --rule and --approver")
    if named:
        by, name = named[0]
    else:
        name = ""
    body = call(server, token, "GET", "/v1/scorecard",
                params={"by": by, "since": since, "name": name,
                        "rubber_stamp": rubber_stamp})  # fmt: skip
    if _print(body, as_json):
        return
    console = Console()
    cards = body.get("scorecards") or []
    if not cards:
        print(f"nothing to score since {str(body.get('since'))[:10]}")
    else:
        table = Table(by, "actions", "autonomy", "asks", "approved", "to decide p50/p90 s",
                      "stamps", "overrides", "failed/reverted", "incidents /1000")  # fmt: skip
        for c in cards:
            outcomes = c.get("outcomes") or {}
            cells = (c.get("name"), c.get("actions"), _pct(c.get("autonomy")),
                     _pct(c.get("ask_rate")), _pct(c.get("approval_rate")),
                     f"{_num(c.get('decision_median_s'))} / {_num(c.get('decision_p90_s'))}",
                     _pct(c.get("rubber_stamp_rate")), c.get("overrides"),
                     f"{outcomes.get('failed', 0)} / {outcomes.get('reverted', 0)}",
                     _num(c.get("incidents_per_1000")))  # fmt: skip
            table.add_row(*(text(str(v if v is not None else "-")) for v in cells))
        console.print(table)
    for suggestion in body.get("suggestions") or ():
        console.print(text(f"suggestion: {suggestion.get('text')}"), soft_wrap=True)

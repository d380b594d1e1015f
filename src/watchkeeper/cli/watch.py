"""``watchkeeper alerts`` and ``watchkeeper watch …``: what watch rules raised; testing them.

    watchkeeper alerts                                   # newest first
    watchkeeper alerts --rule rephrased-after-denial
    watchkeeper watch list                               # tightenings in force
    watchkeeper watch clear 5e1c --reason "the burst was the planned migration"
    watchkeeper watch test                               # streams in *_test.yaml (local)

``alerts``, ``watch list`` and ``watch clear`` talk to a running server with a person's token,
like ``approvals``; ``watch test`` runs the recorded streams beside the orders on a scratch
database of its own. Exit codes: 0 done, 1 refused or a stream failed, 2 bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from watchkeeper.cli.approvals import (
    DEFAULT_SERVER,
    JsonOption,
    ServerOption,
    TokenOption,
    _fail,
    _print,
    _segment,
    _when,
    by_prefix,
    call,
)
from watchkeeper.cli.shared import OrdersOption, fail, out, print_json
from watchkeeper.terminal import shown, text

watch_app = typer.Typer(
    help="Watch rules: tightenings in force, clearing them, testing recorded streams.",
    no_args_is_help=True,
)


def alerts(
    rule: Annotated[str, typer.Option("--rule", help="Only this watch rule's alerts.")] = "",
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1 to 1000).")] = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Alerts the watch rules raised, newest first: the rule, what it counted over, why, and
    what it paused or tightened (each alert is also an audit event)."""
    body = call(server, token, "GET", "/v1/alerts", params={"rule": rule, "limit": limit})
    if _print(body, as_json):
        return
    rows = body.get("alerts") or []
    if not rows:
        print("no alerts" + (f" from {rule}" if rule else ""))
        return
    table = Table("when", "rule", "severity", "over", "agent", "reason",
                  Column("did", no_wrap=True), "event")  # fmt: skip
    for a in rows:
        did = "paused" if a.get("pause") else ""
        over = f"{a.get('scope')} {a.get('key')}".strip() if a.get("scope") != "all" else "all"
        cells = (_when(a.get("at")), a.get("rule"), a.get("severity"), over, a.get("agent"),
                 a.get("reason"), did, a.get("audit_index"))  # fmt: skip
        table.add_row(*(text(str(c if c is not None else "")) for c in cells))
    Console().print(table)


@watch_app.command("list")
def watch_list(
    every: Annotated[
        bool, typer.Option("--all", help="Cleared tightenings too, not only those in force.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The tightenings watch rules put in force (with --all, cleared ones too)."""
    body = call(server, token, "GET", "/v1/tightenings",
                params={"all": "true" if every else "false"})  # fmt: skip
    if _print(body, as_json):
        return
    rows = body.get("tightenings") or []
    if not rows:
        print("no tightenings in force" if not every else "no tightenings")
        return
    whole = Column("id", no_wrap=True, min_width=32, overflow="ignore")
    table = Table(whole, "over", "since", "rule", "reason", "cleared")
    for t in rows:
        cleared = (f"{_when(t.get('cleared_at'))} by {t.get('cleared_by')}: "
                   f"{t.get('clear_reason')}" if t.get("cleared_at") else "in force")  # fmt: skip
        cells = (t.get("id"), f"{t.get('scope')} {t.get('target')}", _when(t.get("created_at")),
                 t.get("rule"), t.get("reason"), cleared)  # fmt: skip
        table.add_row(*(text(str(c or "")) for c in cells))
    Console().print(table)


@watch_app.command("clear")
def watch_clear(
    tightening_id: Annotated[
        str, typer.Argument(help="The tightening's id (`watch list`), or a unique start of it.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is safe again.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clear a tightening: what its scope is allowed to do runs without asking again."""
    tightening_id = by_prefix(server, token, tightening_id, "/v1/tightenings", "tightening",
                              "`watchkeeper watch list --all`")  # fmt: skip
    body = call(server, token, "DELETE", f"/v1/tightenings/{_segment(tightening_id)}",
                json={"reason": reason})  # fmt: skip
    if not _print(body, as_json):
        print(shown(f"cleared: tightening {tightening_id} of {body.get('scope')} "
                    f"{body.get('target')}, by {body.get('cleared_by')}"))  # fmt: skip


@watch_app.command("test")
def watch_test(
    path: Annotated[
        Path | None, typer.Argument(help="Orders file or directory with *_test.yaml.")
    ] = None,
    orders: OrdersOption = None,
    min_coverage: Annotated[
        float,
        typer.Option(
            "--min-coverage", help="Fail when fewer than N% of watch rules raise an alert."
        ),
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Run the recorded streams beside the standing orders (`streams:` in *_test.yaml)
    against the alerts, pauses and tightenings they expect; report watch rule coverage."""
    from watchkeeper.errors import OrdersError
    from watchkeeper.orders.streams import load_streams, run_streams

    if path is not None and orders is not None and path != orders:
        _fail(f"give the orders once: as PATH ({path}) or as --orders ({orders}), not both")
    try:
        loaded, streams, label = load_streams(path or orders)
    except OrdersError as exc:
        fail(str(exc))
    report = run_streams(loaded, streams)
    failed = [r for r in report.results if r.failures]
    coverage = report.coverage_percent
    low = coverage + 1e-9 < min_coverage
    if as_json:
        print_json({
            "orders": label, "passed": len(report.results) - len(failed), "failed": len(failed),
            "coverage": round(coverage, 1), "rules": report.coverage,
            "failures": [{"stream": r.stream.name, "where": r.stream.where,
                          "problems": list(r.failures)} for r in failed],
        })  # fmt: skip
    else:
        for r in report.results:
            mark = "FAIL" if r.failures else "ok"
            out.print(f"{r.stream.where}: {mark}  {r.stream.name}", soft_wrap=True, markup=False)
            for problem in r.failures:
                out.print(f"    {problem}", soft_wrap=True, markup=False)
        out.print(f"watch rule coverage {coverage:.0f}%"
                  + (f" (below the required {min_coverage:g}%)" if low else ""))  # fmt: skip
        out.print(f"{len(report.results) - len(failed)} passed, {len(failed)} failed")
    if failed or low or not report.results:
        if not report.results and not as_json:
            out.print(f"no streams found for {label}: add `streams:` to a *_test.yaml beside it")
        raise typer.Exit(1)

"""``watchkeeper terraform check PLAN.json``: a Terraform plan decided before it is applied, for CI.

    terraform show -json plan.out > plan.json
    watchkeeper terraform check plan.json --environment prod --markdown summary.md
    # a table of creates, updates, deletes and replaces; stateful deletes and whether they
    # can be recovered; then the decision. Exit 0 allow, 10 ask, 20 deny.

With a server (``--server`` or ``WATCHKEEPER_SERVER``, the agent's key in ``WATCHKEEPER_TOKEN``)
the server decides and records, and ``--wait`` turns an ``ask`` into the approval's outcome. A
plan that cannot be read is a ``deny``: exit 20, with the reason.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from watchkeeper import terminal
from watchkeeper.cli.shared import fail, out, print_json

terraform_app = typer.Typer(help="Terraform and OpenTofu plans in CI.", no_args_is_help=True)

EXIT = {"allow": 0, "ask": 10, "deny": 20}
_ORDER = ("delete", "replace", "create", "update")


def _changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per managed resource the plan changes, with what its delete would lose."""
    from watchkeeper.analyzers.terraform import plan_effects

    found = {e.target.id: e for e in plan_effects(plan) if e.target.kind == "terraform_resource"}
    rows = []
    for change in plan.get("resource_changes") or ():
        if not isinstance(change, dict) or change.get("mode", "managed") != "managed":
            continue
        raw = change.get("change")
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        actions = tuple(body.get("actions") or ())
        if actions in ((), ("no-op",), ("read",)):
            continue
        action = ("replace" if "create" in actions else "delete") if "delete" in actions else (
            actions[0] if actions[0] in ("create", "update") else "+".join(actions))  # fmt: skip
        address = str(change.get("address") or "")
        effect = found.get(address)
        attributes = effect.attributes if effect is not None else {}
        deleted = effect is not None and action in ("delete", "replace")
        rows.append({
            "address": address, "type": str(change.get("type") or ""), "action": action,
            "stateful": attributes.get("stateful") or "",
            "reversible": effect.reversible if effect is not None and deleted else "yes",
            "recovery": (effect.recovery or "") if effect is not None else "",
        })  # fmt: skip
    rank = {a: i for i, a in enumerate(_ORDER)}
    return sorted(rows, key=lambda r: (rank.get(r["action"], 9), r["address"]))


def _recoverable(row: dict[str, Any]) -> str:
    if row["action"] not in ("delete", "replace"):
        return ""
    return {"yes": "recoverable", "no": "NOT recoverable"}.get(row["reversible"], "unknown")


def _markdown(rows: list[dict[str, Any]], decision: str, message: str) -> str:
    counts = Counter(r["action"] for r in rows)
    lines = [
        f"### watchkeeper: {decision.upper()}",
        "",
        message.replace("\n", " "),
        "",
        "| create | update | replace | delete |",
        "|---|---|---|---|",
        f"| {counts['create']} | {counts['update']} | {counts['replace']} | {counts['delete']} |",
    ]
    doomed = [r for r in rows if r["action"] in ("delete", "replace")]
    if doomed:
        lines += ["", "| deleted | type | holds data | recovery |", "|---|---|---|---|"]
        lines += [
            f"| `{r['address']}` | `{r['type']}` | {r['stateful'] or 'no'} | "
            f"{_recoverable(r)}{': ' + r['recovery'] if r['recovery'] else ''} |"
            for r in doomed
        ]
    return "\n".join(lines) + "\n"


@terraform_app.command("check")
def check(
    plan_file: Annotated[
        Path, typer.Argument(help="`terraform show -json` output, or - for stdin.")
    ],
    environment: Annotated[
        str | None, typer.Option(help="The environment the plan applies to.")
    ] = None,
    orders: Annotated[
        Path | None, typer.Option(help="Standing orders (else WATCHKEEPER_ORDERS, else built-in).")
    ] = None,
    server: Annotated[str | None, typer.Option(help="Decide and record on this server.")] = None,
    wait: Annotated[float, typer.Option(help="Server: seconds to wait for an approval.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    markdown: Annotated[
        Path | None, typer.Option(help="Write a summary for a pull-request comment here.")
    ] = None,
) -> None:
    """Decide a Terraform plan before it is applied: exit 0 allow, 10 ask, 20 deny."""
    from watchkeeper import strict_json
    from watchkeeper.doors import gate

    if not 0 <= wait <= 3600:
        fail(f"--wait {wait:g}: give seconds from 0 to 3600")
    rows: list[dict[str, Any]] = []
    try:
        raw = sys.stdin.buffer.read() if str(plan_file) == "-" else plan_file.read_bytes()
        plan = strict_json.loads_object(raw, what=str(plan_file), max_depth=512)
        rows = _changes(plan)
        action: dict[str, Any] = {"tool": "terraform", "input": {"plan": plan}}
        if environment:
            action["environment"] = environment
        verdict = gate.decide(
            action, door="terraform", session=str(plan_file.resolve()),
            orders=str(orders) if orders else None, server=gate.server_of(server), wait=wait,
            budget=wait + 60, held="ask",
        )  # fmt: skip
        decision, message = verdict.decision, verdict.message
    except Exception as exc:
        decision, message = "deny", f"the plan was not decided, so it is refused: {exc}"
    if markdown is not None:
        markdown.write_text(_markdown(rows, decision, message), encoding="utf-8")
    if as_json:
        print_json({"decision": decision, "message": message, "changes": rows,
                    "counts": dict(Counter(r["action"] for r in rows))})  # fmt: skip
    else:
        table = Table(title=f"{plan_file}: {len(rows)} changes")
        for column in ("action", "address", "type", "holds data", "if deleted"):
            table.add_column(column, no_wrap=True)  # whole addresses, however narrow the log
        for r in rows:
            table.add_row(r["action"], terminal.text(r["address"]), terminal.text(r["type"]),
                          r["stateful"] or "", _recoverable(r))  # fmt: skip
        widest = max((len(r["address"]) + len(r["type"]) for r in rows), default=0) + 70
        wide = out if widest <= out.width else Console(highlight=False, markup=False, width=widest)
        wide.print(table)
        out.print(terminal.text(f"{decision.upper()}: {message}"))
    raise typer.Exit(EXIT[decision])

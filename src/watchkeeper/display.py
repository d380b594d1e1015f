"""How decisions, explanations and test reports look on a terminal (Rich).

Everything in them but our own labels came from an action, the standing orders or a test
file: it goes in as :func:`watchkeeper.terminal.text`, never as markup or raw text.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from watchkeeper.decision import Decision
from watchkeeper.orders.cases import Report
from watchkeeper.orders.explain import Explanation
from watchkeeper.terminal import shown, text

STYLE = {"allow": "bold green", "ask": "bold yellow", "deny": "bold red"}
STATUS_STYLE = {
    "matched": "bold",
    "overruled": "yellow",
    "default": "bold",
    "not selected": "dim",
    "condition false": "dim",
    "condition error": "bold red",
}


def _short(digest: str | None) -> str:
    return f"{digest[:23]}…" if digest else "-"


def plain(*values: str) -> list[RenderableType]:
    """Cells of text from actions and orders: never Rich markup, never raw control characters."""
    return [text(v) for v in values]


def decision_panel(
    decision: Decision, title: str | None = None, orders: str | None = None
) -> Panel:
    """A panel with the decision, its reasons, approvals, instructions and effects."""
    body: list[RenderableType] = []
    head = Text()
    head.append(decision.decision.upper(), style=STYLE[decision.decision])
    judged = decision.environment or ", ".join(decision.environments) or "none declared"
    head.append(shown(f"   environment: {judged}"))
    if decision.rules:
        head.append(shown(f"   matched: {', '.join(decision.rules)}"))
    body.append(head)
    body.append(Text())
    bullets = Table.grid(padding=(0, 1))  # wrapped lines stay under their bullet
    bullets.add_column(no_wrap=True)
    bullets.add_column()
    for reason in decision.reasons:
        bullets.add_row("•", text(reason))
    body.append(bullets)
    if decision.approvals:
        body.append(Text("\nneeds approval from:", style="bold"))
        needs = Table.grid(padding=(0, 1))
        needs.add_column(no_wrap=True)
        needs.add_column()
        for req in decision.approvals:
            who = (req.group and f"group {req.group}") or (", ".join(req.users) or "any approver")
            ladder = "".join(
                f"; after {e.after_seconds // 60} min, escalates to {e.to}" for e in req.escalate
            )
            needs.add_row(
                Text(f" {req.quorum} of"),
                text(
                    f"{who}  (rule {req.rule}{ladder}; times out after "
                    f"{req.timeout_seconds // 60} min, then {req.on_timeout})"
                ),
            )
        body.append(needs)
    if decision.instructions:
        body.append(Text("\ninstructions:", style="bold"))
        for line in decision.instructions:
            body.append(text(f"  {line}"))
    if decision.effects:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("verb", "target", "reversible", "flags", "by"):
            table.add_column(column)
        for e in decision.effects:
            target = e.target.kind + (f" {e.target.id}" if e.target.id else "")
            extra = ", ".join(f"{k}={v}" for k, v in e.attributes.items() if k != "why")
            table.add_row(
                *plain(
                    e.verb,
                    target + (f" ({extra})" if extra else ""),
                    e.reversible,
                    ", ".join(sorted(e.flags)) or "-",
                    e.analyzer,
                )
            )
        body.append(Text("\neffects:", style="bold"))
        body.append(table)
    # Short digests keep the panel readable; --json carries them whole.
    body.append(Text.assemble("\n", text(f"action {_short(decision.action_digest)}"), style="dim"))
    body.append(
        text(
            f"orders {_short(decision.orders_digest)}" + (f"  from {orders}" if orders else ""),
            style="dim",
        )
    )
    return Panel(
        Group(*body),
        title=text(title) if title is not None else None,
        border_style=STYLE[decision.decision],
        expand=False,
    )


def explanation_table(explanation: Explanation) -> Group:
    """The decision panel and a table of every rule's verdict."""
    table = Table(show_header=True, header_style="bold", expand=False)
    several = len({r.environment for r in explanation.rules}) > 1
    if several:
        table.add_column("environment")
    for column in ("rule", "decides", "verdict", "why"):
        table.add_column(column, overflow="fold")
    for r in explanation.rules:
        cells: list[RenderableType] = [
            *plain(r.rule, r.decision),
            text(r.status, style=STATUS_STYLE[r.status]),
            text(r.detail),
        ]
        table.add_row(*(plain(r.environment or "-") if several else []), *cells)
    parts: list[RenderableType] = [decision_panel(explanation.decision, "decision"), table]
    if explanation.charter:
        parts.append(text("charter: " + "; ".join(explanation.charter)))
    return Group(*parts)


def report_lines(report: Report) -> Group:
    """One PASS/FAIL line per case, then the rule coverage table."""
    parts: list[RenderableType] = []
    for result in report.results:
        c = result.case
        where = f"{c.where.file}:{c.where.line}:{c.where.col}"
        if result.passed:
            parts.append(Text.assemble(("PASS ", "bold green"), text(c.name)))
        else:
            parts.append(
                Text.assemble(("FAIL ", "bold red"), text(c.name), text(f"  {where}", "dim"))
            )
            for failure in result.failures:
                parts.append(text(f"     {failure}"))
    table = Table(title="rule coverage", show_header=True, header_style="bold", expand=False)
    table.add_column("rule")
    table.add_column("cases", justify="right")
    for rule, count in report.coverage.items():
        table.add_row(text(rule), Text(str(count), style="" if count else "bold red"))
    parts.append(table)
    return Group(*parts)

"""``python -m bench``: run every benchmark and write bench/RESULTS.md."""

from __future__ import annotations

import datetime
from pathlib import Path

from bench import audit, mcp, peers, plans, server, startup, watch
from bench.decide import (
    ACTION,
    BUILTIN_ACTIONS,
    builtin_decider,
    corpus_actions,
    evaluate_only_decider,
    floor_decider,
    toolkit_decider,
    varied_actions,
    watchkeeper_decider,
)
from bench.harness import Sample, machine, measure, table

SIZES = (30, 100, 300)
CALLS = 20_000
TOOLKIT_CALLS = 2_000  # the Toolkit is ~100x slower; fewer calls keep the run short
TARGETS = {30: (25.0, 60.0), 300: (40.0, None)}


def fmt(x: float) -> str:
    return f"{x:,.1f}"


def main() -> None:
    rows = []
    verdicts = []
    for n in SIZES:
        wk = measure("watchkeeper", watchkeeper_decider(n), [ACTION], CALLS)
        varied = measure("watchkeeper varied", watchkeeper_decider(n), varied_actions(n), CALLS)
        evaluate = measure("evaluate only", evaluate_only_decider(n), [ACTION], CALLS)
        floor = measure("floor", floor_decider(n), [ACTION], CALLS)
        toolkit = toolkit_decider(n)
        tk: Sample | None = None
        if not isinstance(toolkit, str):
            tk = measure("toolkit", toolkit, [ACTION], TOOLKIT_CALLS, warmup=300)
        rows.append(
            [
                str(n),
                f"{fmt(wk.p50_us)} / {fmt(wk.p99_us)}",
                f"{fmt(varied.p50_us)} / {fmt(varied.p99_us)}",
                f"{fmt(evaluate.p50_us)} / {fmt(evaluate.p99_us)}",
                f"{fmt(floor.p50_us)} / {fmt(floor.p99_us)}",
                f"{fmt(tk.p50_us)} / {fmt(tk.p99_us)}" if tk else str(toolkit),
                f"{wk.p50_us / floor.p50_us:.1f}x",
                f"{evaluate.p50_us / floor.p50_us:.1f}x",
                f"{tk.p50_us / wk.p50_us:.1f}x" if tk else "-",
            ]
        )
        target = TARGETS.get(n)
        if target:
            p50_max, p99_max = target
            ok = wk.p50_us <= p50_max and (p99_max is None or wk.p99_us <= p99_max)
            want = f"p50 ≤ {p50_max:g} µs" + (f", p99 ≤ {p99_max:g} µs" if p99_max else "")
            verdicts.append(f"- {n} rules: {want}: **{'met' if ok else 'MISSED'}**")
        if tk:
            faster = wk.p50_us < tk.p50_us
            verdicts.append(
                f"- {n} rules: faster than the Toolkit: **{'met' if faster else 'MISSED'}**"
            )
        print(f"{n} rules: watchkeeper {wk.p50_us:.1f}/{wk.p99_us:.1f} µs", flush=True)

    builtin_rows = []
    for label, action in BUILTIN_ACTIONS:
        s = measure(label, builtin_decider(), [action], CALLS // 2)
        builtin_rows.append([label, f"{fmt(s.p50_us)} / {fmt(s.p99_us)}"])
    builtin_table = table(builtin_rows, ["action", "p50 / p99 µs"])
    corpus_rows = []
    for name, tool, key in (
        ("commands.jsonl", "shell", "command"),
        ("sql.jsonl", "sql", "statement"),
    ):
        actions = corpus_actions(name, tool, key)
        if isinstance(actions, str):
            corpus_rows.append([name, actions, "-"])
            continue
        s = measure(name, builtin_decider(), actions, len(actions), warmup=len(actions) // 4)
        corpus_rows.append([name, f"{len(actions):,}", f"{fmt(s.p50_us)} / {fmt(s.p99_us)}"])
    corpus_table = table(corpus_rows, ["corpus", "actions", "p50 / p99 µs"])
    results = table(
        rows,
        [
            "rules",
            "watchkeeper",
            "watchkeeper varied",
            "rules only",
            "Python floor",
            "Toolkit",
            "watchkeeper / floor",
            "rules only / floor",
            "Toolkit / watchkeeper",
        ],
    )
    from watchkeeper.orders.loader import builtin

    shipped = builtin()
    orders_shape = (
        f"{len(shipped.rules)} rules, {len(shipped.environments)} environments with match "
        f"patterns, {len(shipped.tools)} declared tools"
    )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""# Benchmark results

Written by `make bench` ({now}). Machine: {machine()}.
Times are per decision, one call at a time, in microseconds: **p50 / p99**, each the median
of three rounds. Ratios compare numbers measured in this same run.

## Decision latency (`bench/decide.py`)

A declared-tool action (`refund`, amount 150, in `prod`) against N equivalent rules plus one
refund rule. watchkeeper is measured end to end through `Gateway.decide` (validation,
environment, digest, declared-tool analyzer, selector index, CEL); "varied" cycles through
10,000 actions over random tools and amounts. The floor is hand-written Python closures
behind a dict index. The Toolkit is `agent-governance-toolkit-core`'s
`agentmesh.governance.PolicyEngine.evaluate` on the same rules.
watchkeeper and the floor: 3 × {CALLS:,} calls each; the Toolkit: 3 × {TOOLKIT_CALLS:,}.

{results}

"watchkeeper" is everything a decision costs from the action's JSON form: validation,
environment placement, digest, the declared-tool analyzer and evaluation. "rules only" is the
evaluation alone (selector index, charter, one CEL call, combining) on an already analyzed
action: the part that grows with the orders. The floor does no validation, digest or analysis.

Targets:
{chr(10).join(verdicts)}

## The built-in default orders (`bench/decide.py`)

Real actions against the orders `watchkeeper init` writes ({orders_shape}). An action that
nothing places is judged on the workstation; one judged in several environments costs more;
conditions that cannot depend on the environment run once.

{builtin_table}

## Analyzing real commands (the peer corpus beside the repository)

Each command or statement of the corpus decided through `Gateway.decide` with the built-in
orders in `prod`: parse, effects, placement and decision (target: ≤ 300 µs p50).

{corpus_table}
"""
    print("start-up of the hook and the command line…", flush=True)
    body += "\n" + startup.section()
    print("peers and the large plan…", flush=True)
    body += "\n" + peers.section() + "\n" + plans.section()
    print("the audit log…", flush=True)
    body += "\n" + audit.section()
    print("the server over HTTP…", flush=True)
    body += "\n" + server.section()
    print("the MCP gateway and the framework guards…", flush=True)
    body += "\n" + mcp.section()
    print("watch rules and scorecards…", flush=True)
    body += "\n" + watch.section()
    path = Path(__file__).with_name("RESULTS.md")
    path.write_text(body, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

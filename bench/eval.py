"""``make eval``: the analyzers and the built-in orders over the peer corpus, in ``prod``.

Writes ``bench/EVAL.md``: hold recall (``block``/``ask`` rows held: ``ask`` or ``deny``) and the
false-hold rate (``allow`` rows held) per source and per category, then every disagreement with
a one-line reason (what watchkeeper saw). The corpus sits beside the repository
(``../shared/corpus``); see its README and PROVENANCE for where each row comes from.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.decide import CORPUS
from watchkeeper.decision import Decision
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

OUT = Path(__file__).with_name("EVAL.md")


def _rows() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind, row, action) for every corpus row."""
    out = []
    for line in (CORPUS / "commands.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append(("shell", row, {"tool": "shell", "input": {"command": row["text"]}}))
    for line in (CORPUS / "sql.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sql = {"statement": row["text"], "dialect": row.get("dialect") or "postgres"}
        out.append(("sql", row, {"tool": "sql", "input": sql}))
    plans = CORPUS / "terraform"
    for line in (plans / "index.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        plan = json.loads((plans / row["file"]).read_text(encoding="utf-8"))
        out.append(
            (
                "terraform",
                {**row, "text": row["file"]},
                {"tool": "terraform", "input": {"plan": plan}},
            )
        )
    return out


def _why(decision: Decision) -> str:
    seen = ", ".join(
        sorted({f"{e.verb} {e.target.kind}" + (f" [{','.join(sorted(e.flags))}]" if e.flags else "")
                for e in decision.effects})
    )  # fmt: skip
    if not decision.effects:  # failed before analysis finished: the reason is the story
        return f"{decision.decision}: {decision.reasons[0]}"
    rules = ", ".join(decision.rules) or "environment default"
    return f"{decision.decision} by {rules}; saw {seen}"


def main() -> None:
    if not CORPUS.exists():
        raise SystemExit(f"no corpus at {CORPUS}: make eval needs ../shared/corpus")
    gateway = Gateway(builtin())
    tallies: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    misses: list[str] = []
    for kind, row, action in _rows():
        decision = gateway.submit({**action, "environment": "prod"})
        want = row["expected"] != "allow"
        held = decision.decision != "allow"
        for key in (
            (kind, row.get("source_repo", "?")),
            (kind, f"category {row.get('category', '?')}"),
        ):
            t = tallies[key]
            t[0 if want else 2] += 1
            t[1 if want else 3] += held
        if want != held:
            text = row["text"].replace("\n", "\\n").replace("|", "\\|")[:90]
            misses.append(f"| {kind} | {row['expected']} | `{text}` | {_why(decision)} |")
    lines = []
    for (kind, key), (need, got, allows, false) in sorted(tallies.items()):
        recall = f"{got / need:.1%} ({got}/{need})" if need else "-"
        false_rate = f"{false / allows:.1%} ({false}/{allows})" if allows else "-"
        lines.append(f"| {kind} | {key} | {recall} | {false_rate} |")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    OUT.write_text(
        f"""# Evaluation on the peer corpus

Written by `make eval` ({now}): the built-in orders, environment `prod`, every row of
`../shared/corpus`. Hold recall: `block`/`ask` rows decided `ask` or `deny`. False-hold rate:
`allow` rows decided `ask` or `deny`. Targets: ≥ 99% held, ≤ 2% false holds.

| analyzer | source or category | hold recall | false-hold rate |
|---|---|---|---|
{chr(10).join(lines)}

## Disagreements ({len(misses)})

| analyzer | expected | input | watchkeeper |
|---|---|---|---|
{chr(10).join(misses)}
""",
        encoding="utf-8",
    )
    print(f"wrote {OUT}: {len(misses)} disagreements")


if __name__ == "__main__":
    main()

"""Peers that classify shell commands offline, beside watchkeeper on the same commands.

Every command of ``../shared/corpus/commands.jsonl`` goes to each classifier; a command is
*held* when the classifier would stop it for a person (watchkeeper: ``ask`` or ``deny`` with the
built-in orders in ``prod``). Recall and false holds use the corpus labels; latency is each
library's own in-process call, one command at a time (median of three calls per command, then
p50/p99 over the corpus).

- ``squidbrake`` (PyPI): ``squidbrake.commands.read(line).kind``; held when the kind is one it
  makes wait for a teammate (``irreversible``, ``catastrophic``) or cannot read (``hidden``) or
  that touches secrets (``secret``).
- ``cc-safety-net`` (npm): ``checkCommand({command, cwd})`` from ``cc-safety-net/api`` run in
  Node by ``bench/peers/safety_net.mjs``; held when it answers ``deny``. Its cwd is an empty
  temporary directory, so "outside the project" means outside that directory.

Both peers' own test suites are among the corpus sources: on those rows they are graded on
their own labels.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.decide import CORPUS
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

HERE = Path(__file__).with_name("peers")
SQUIDBRAKE_HELD = frozenset({"irreversible", "catastrophic", "hidden", "secret"})


@dataclass
class Score:
    """One classifier over the corpus."""

    name: str
    held: list[bool]
    micros: list[float]

    def rates(self, rows: list[dict[str, Any]], source: str | None = None) -> tuple[str, str]:
        need = got = allows = false = 0
        for row, held in zip(rows, self.held, strict=True):
            if source is not None and row.get("source_repo") != source:
                continue
            if row["expected"] == "allow":
                allows += 1
                false += held
            else:
                need += 1
                got += held
        recall = f"{got / need:.1%}" if need else "-"
        return recall, (f"{false / allows:.1%}" if allows else "-")

    def latency(self) -> str:
        ordered = sorted(self.micros)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return f"{statistics.median(ordered):,.1f} / {p99:,.1f}"


def rows() -> list[dict[str, Any]]:
    path = CORPUS / "commands.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _timed(name: str, held: Callable[[str], bool], texts: list[str]) -> Score:
    for text in texts[:200]:  # warm up
        held(text)
    out, micros = [], []
    for text in texts:
        calls = []
        for _ in range(3):
            start = time.perf_counter_ns()
            verdict = held(text)
            calls.append((time.perf_counter_ns() - start) / 1000)
        out.append(verdict)
        micros.append(statistics.median(calls))
    return Score(name, out, micros)


def watchkeeper(texts: list[str]) -> Score:
    gateway = Gateway(builtin())
    return _timed(
        "watchkeeper",
        lambda t: (
            gateway.decide(
                {"tool": "shell", "input": {"command": t}, "environment": "prod"}
            ).decision
            != "allow"
        ),
        texts,
    )


def squidbrake(texts: list[str]) -> Score | str:
    try:
        from squidbrake import commands  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"not installed ({exc})"

    def held(text: str) -> bool:
        try:
            return commands.read(text).kind in SQUIDBRAKE_HELD
        except Exception:  # a crash would stop the command in its hook
            return True

    return _timed("squidbrake", held, texts)


def safety_net(texts: list[str]) -> Score | str:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "cc-safety-net").exists():
        return "not installed (needs node and `npm install` in bench/peers)"
    with tempfile.TemporaryDirectory() as cwd:
        feed = "".join(json.dumps({"command": t}) + "\n" for t in texts)
        done = subprocess.run(
            [node, str(HERE / "safety_net.mjs"), "3", cwd],
            input=feed,
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE,
        )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    return Score(
        "cc-safety-net",
        [a["deny"] for a in answers],
        [statistics.median(a["ns"]) / 1000 for a in answers],
    )


def section() -> str:
    """The peers section of bench/RESULTS.md."""
    if not (CORPUS / "commands.jsonl").exists():
        return "## Peers on the same commands\n\nNo corpus beside the repository.\n"
    corpus = rows()
    texts = [r["text"] for r in corpus]
    scores: list[Score] = [watchkeeper(texts)]
    missing = []
    for name, run in (("squidbrake", squidbrake), ("cc-safety-net", safety_net)):
        result = run(texts)
        if isinstance(result, str):
            missing.append(f"- {name}: {result}")
        else:
            scores.append(result)
    sources = sorted({r.get("source_repo", "?") for r in corpus})
    lines = ["| classifier | p50 / p99 µs | " + " | ".join(sources) + " | all |"]
    lines.append("|---" * (len(sources) + 3) + "|")
    for s in scores:
        cells = [" / ".join(s.rates(corpus, src)) for src in sources]
        lines.append(
            f"| {s.name} | {s.latency()} | "
            + " | ".join(cells)
            + f" | {' / '.join(s.rates(corpus))} |"
        )
    wk = scores[0]
    ratios = [
        f"- {s.name}: p50 {statistics.median(s.micros) / statistics.median(wk.micros):.2f}x "
        "watchkeeper's"
        for s in scores[1:]
    ]
    return f"""## Peers on the same commands (`bench/peers.py`)

Every command of `commands.jsonl` ({len(texts):,} rows) through each classifier. Cells are
**hold recall / false-hold rate** per corpus source (labels from the corpus; watchkeeper is
judged in `prod`, the peers as they ship). Latency is each library's own call, in-process.
{bench_doc()}

{chr(10).join(lines)}

Latency against watchkeeper's, measured in this run:
{chr(10).join(ratios) or "- no peer installed"}
{chr(10).join(missing)}
"""


def bench_doc() -> str:
    doc = __doc__ or ""
    return doc[doc.index("- ``squidbrake``") : doc.index("Both peers")].strip().replace("``", "`")

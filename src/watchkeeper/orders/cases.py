"""Policy tests that live beside the orders (``*_test.yaml``), in the manner of ``opa test``.

A test file lists cases, each an action and what the orders must decide::

    cases:
      - name: deleting a file in production needs two people
        action: {tool: delete_file, environment: prod, input: {path: /srv/prod/data.db}}
        expect: {decision: ask, rules: [prod-irreversible-needs-two]}

``expect.rules``, when given, must equal the set of matched rules. ``run_cases`` returns one
result per case and per-rule coverage (how many cases each rule matched).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchkeeper.decision import DECISIONS, Decision
from watchkeeper.errors import InvalidAction, Issue, OrdersError
from watchkeeper.models import Action
from watchkeeper.orders.loader import SUFFIXES, is_test_file
from watchkeeper.orders.model import StandingOrders
from watchkeeper.orders.source import Mark, read_documents
from watchkeeper.orders.validate import (
    AnyValue,
    Duration,
    Enum,
    Field,
    Int,
    ListOf,
    Record,
    Str,
    Validation,
)
from watchkeeper.wording import suggest

_FAILED = re.compile(r"rule '([^']+)' failed closed")
CASE = Record(
    {
        "name": Field(Str(), "What the case shows, as a sentence.", required=True),
        "action": Field(AnyValue(), "The action, in its JSON form.", required=True),
        "expect": Field(
            Record(
                {
                    "decision": Field(Enum(*DECISIONS), "The expected decision.", required=True),
                    "rules": Field(ListOf(Str()), "Exactly the rules expected to match."),
                    "reason": Field(Str(), "Text that one of the reasons must contain."),
                }
            ),
            "What the orders must decide.",
            required=True,
        ),
    }
)
#: One event of a recorded stream: an action decided at ``at``, or a person's vote on the
#: approval an earlier event opened.
STREAM_EVENT = Record(
    {
        "at": Field(Duration(zero=True), "When, after the stream's start (`0s`, `90s`, `2h`)."),
        "action": Field(AnyValue(), "An action, in its JSON form (give agent and session)."),
        "vote": Field(
            Record(
                {
                    "on": Field(Int(minimum=1), "The event (1-based) whose ask it answers.",
                                required=True),
                    "by": Field(Str(), "The approver's email.", required=True),
                    "vote": Field(Enum("approve", "deny"), "The vote.", default="approve"),
                }
            ),
            "A person's vote on the approval an earlier event opened.",
        ),
    }
)  # fmt: skip
STREAM = Record(
    {
        "name": Field(Str(), "What the stream shows, as a sentence.", required=True),
        "start": Field(
            Str(), "When the stream starts (ISO 8601); default Monday 2026-01-05 10:00 UTC."
        ),
        "events": Field(ListOf(STREAM_EVENT), "The events, in order.", required=True),
        "expect": Field(
            Record(
                {
                    "alerts": Field(
                        ListOf(Record({"rule": Field(Str(), "The watch rule.", required=True),
                                       "at": Field(Int(minimum=1), "The event (1-based) that "
                                                   "raises it.", required=True)})),
                        "Exactly the alerts raised: each watch rule and the event raising it.",
                    ),
                    "paused": Field(ListOf(Str()), "Pauses in force at the end (`session s1`, "
                                    "`agent infra-bot`, `all`)."),
                    "tightened": Field(ListOf(Str()), "Tightenings in force at the end "
                                       "(`agent infra-bot`, `approver bob@example.com`)."),
                    "decisions": Field(ListOf(Enum(*DECISIONS)), "Each action's decision, "
                                       "in order."),
                }
            ),
            "What the watch rules must do with the stream.",
            required=True,
        ),
    }
)  # fmt: skip
TEST_FILE = Record(
    {
        "cases": Field(ListOf(CASE), "The test cases."),
        "streams": Field(ListOf(STREAM), "Recorded streams for `watchkeeper watch test`."),
    }
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    action: Any
    decision: str
    rules: frozenset[str] | None
    reason: str | None
    where: Mark


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Report:
    results: list[CaseResult] = field(default_factory=list)
    #: rule name → number of cases in which it matched, for every rule in the orders
    coverage: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def coverage_percent(self) -> float:
        if not self.coverage:
            return 100.0
        return 100.0 * sum(1 for n in self.coverage.values() if n) / len(self.coverage)


def find_test_files(path: Path) -> list[Path]:
    """The ``*_test.yaml`` files for orders at ``path`` (a directory, an orders or a test file)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and is_test_file(p))
    if is_test_file(path):
        return [path]
    candidates = [path.with_name(path.stem + "_test" + s) for s in SUFFIXES]
    return [p for p in candidates if p.exists()]


def parse_cases(text: str, file: str) -> list[Case]:
    """Read the cases of one test file; raise ``OrdersError`` listing every problem."""
    issues: list[Issue] = []
    cases: list[Case] = []
    for node in read_documents(text, file, issues):
        v = Validation()
        data = v.check(node, TEST_FILE)
        issues.extend(v.issues)
        if not isinstance(data, dict) or v.issues:
            continue
        for i, raw in enumerate(data.get("cases") or []):
            try:
                Action.from_json(raw["action"])
            except InvalidAction as exc:
                # A typo in a test's action would make it pass as "denied: invalid action".
                issues.append(v.mark(("cases", i, "action")).issue(f"action is invalid: {exc}"))
                continue
            expect = raw["expect"]
            rules = expect.get("rules")
            cases.append(
                Case(
                    name=raw["name"],
                    action=raw["action"],
                    decision=expect["decision"],
                    rules=frozenset(rules) if rules is not None else None,
                    reason=expect.get("reason"),
                    where=v.mark(("cases", i)),
                )
            )
    if issues:
        raise OrdersError(issues, "policy tests")
    return cases


def run_cases(
    orders: StandingOrders, cases: Sequence[Case], decide: Callable[[Any], Decision]
) -> Report:
    """Decide every case with ``decide`` and compare with what it expects."""
    report = Report(coverage={r.name: 0 for r in orders.rules})
    for case in cases:
        decision = decide(case.action)
        failures = []
        if decision.decision != case.decision:
            failures.append(
                f"expected {case.decision}, got {decision.decision}: {'; '.join(decision.reasons)}"
            )
        unknown = sorted(n for n in case.rules or () if n not in report.coverage)
        for name in unknown:
            failures.append(
                f"expects rule {name!r}, which these orders do not have"
                f"{suggest(name, list(report.coverage))}"
            )
        # A rule whose condition raised denied the case without matching it: a broken rule
        # must not pass its tests or count as covered.
        broken = {m.group(1) for r in decision.reasons if (m := _FAILED.match(r))}
        if broken and not (case.reason and "failed closed" in case.reason):
            failures.extend(
                f"rule {name!r} failed closed instead of deciding: {r}"
                for r in decision.reasons
                for name in broken
                if r.startswith(f"rule {name!r} failed closed")
            )
        got = frozenset(decision.rules) - broken
        if case.rules is not None and got != case.rules:
            missing = ", ".join(sorted(case.rules - got)) or "none"
            extra = ", ".join(sorted(got - case.rules)) or "none"
            failures.append(
                f"rules differ: expected but not matched: {missing}; "
                f"matched but not expected: {extra}"
            )
        if case.reason is not None and not any(case.reason in r for r in decision.reasons):
            failures.append(
                f"no reason contains {case.reason!r}; the reasons were: "
                + " | ".join(decision.reasons)
            )
        for name in got:
            if name in report.coverage:
                report.coverage[name] += 1
        report.results.append(CaseResult(case, decision, tuple(failures)))
    return report

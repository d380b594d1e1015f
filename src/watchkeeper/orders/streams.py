"""Recorded streams beside the orders (``streams:`` in ``*_test.yaml``): ``watchkeeper watch test``.

A stream is a list of events (actions, and people's votes on the approvals they opened) at
offsets from its start, and what the watch rules must do with it::

    streams:
      - name: a denied delete, rephrased twice, pauses the session
        events:
          - {at: 0s, action: {agent: infra-bot, session: s1, tool: shell,
                              input: {command: "rm -rf /srv/prod/data"}}}
          - {at: 20s, action: {agent: infra-bot, session: s1, tool: shell,
                               input: {command: "rm -fr /srv/prod/data"}}}
          - {at: 40s, action: {agent: infra-bot, session: s1, tool: shell,
                               input: {command: "find /srv/prod/data -delete"}}}
        expect:
          alerts: [{rule: rephrased-after-denial, at: 3}]
          paused: [session s1]

Each stream runs through the real service on a scratch SQLite database of its own, the watch
rules reading the stream's clock (``start`` plus each event's ``at``). ``alerts`` must be
exactly the alerts raised; ``paused``/``tightened`` exactly what is in force at the end;
``decisions`` each action's decision. Votes are cast at once: their review time is the
machine's, a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from watchkeeper.errors import InvalidAction, Issue, OrdersError
from watchkeeper.models import Action
from watchkeeper.orders.cases import TEST_FILE, find_test_files
from watchkeeper.orders.model import StandingOrders
from watchkeeper.orders.source import read_documents
from watchkeeper.orders.validate import Validation

#: A Monday, in business hours by the default calendar.
DEFAULT_START = "2026-01-05T10:00:00+00:00"


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    start: float
    events: tuple[dict[str, Any], ...]
    alerts: frozenset[tuple[str, int]] | None
    paused: frozenset[str] | None
    tightened: frozenset[str] | None
    decisions: tuple[str, ...] | None
    where: str


@dataclass(frozen=True, slots=True)
class StreamResult:
    stream: Stream
    failures: tuple[str, ...]


@dataclass
class StreamReport:
    results: list[StreamResult] = field(default_factory=list)
    #: watch rule → number of streams in which it raised an alert, for every watch rule
    coverage: dict[str, int] = field(default_factory=dict)

    @property
    def coverage_percent(self) -> float:
        if not self.coverage:
            return 100.0
        return 100.0 * sum(1 for n in self.coverage.values() if n) / len(self.coverage)


def parse_streams(text: str, file: str) -> list[Stream]:
    """The streams of one test file; ``OrdersError`` listing every problem."""
    issues: list[Issue] = []
    streams: list[Stream] = []
    for node in read_documents(text, file, issues):
        v = Validation()
        data = v.check(node, TEST_FILE)
        issues.extend(v.issues)
        if not isinstance(data, dict) or v.issues:
            continue
        for i, raw in enumerate(data.get("streams") or []):
            start = raw.get("start") or DEFAULT_START
            try:
                begins = datetime.fromisoformat(start).timestamp()
            except ValueError:
                issues.append(v.mark(("streams", i, "start")).issue(
                    f"start {start!r} is not a time; write it like {DEFAULT_START}"))  # fmt: skip
                continue
            for n, event in enumerate(raw["events"]):
                path = ("streams", i, "events", n)
                if ("action" in event) == ("vote" in event):
                    issues.append(v.mark(path).issue("an event is an action or a vote: give one"))
                elif "action" in event:
                    try:
                        Action.from_json(event["action"])
                    except InvalidAction as exc:
                        issues.append(v.mark((*path, "action")).issue(f"action is invalid: {exc}"))
                elif event["vote"]["on"] > n:
                    issues.append(v.mark((*path, "vote", "on")).issue(
                        f"a vote answers an earlier event; this is event {n + 1}"))  # fmt: skip
            expect = raw["expect"]
            alerts = expect.get("alerts")
            mark = v.mark(("streams", i))
            streams.append(
                Stream(
                    name=raw["name"],
                    start=begins,
                    events=tuple(raw["events"]),
                    alerts=frozenset((a["rule"], a["at"]) for a in alerts)
                    if alerts is not None else None,
                    paused=_set(expect.get("paused")),
                    tightened=_set(expect.get("tightened")),
                    decisions=tuple(expect["decisions"]) if "decisions" in expect else None,
                    where=f"{mark.file}:{mark.line}:{mark.col}",
                )
            )  # fmt: skip
    if issues:
        raise OrdersError(issues, "watch streams")
    return streams


def _set(values: Sequence[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(" ".join(v.split()) for v in values)


def load_streams(path: Path | None) -> tuple[StandingOrders, list[Stream], str]:
    """Orders and their streams: from ``path``, ./watchkeeper.yaml, or the built-in defaults."""
    from watchkeeper.orders.loader import builtin, builtin_text, load

    local = Path("watchkeeper.yaml")
    if path is None and not local.exists():
        name = "<builtin>/default_test.yaml"
        return builtin(), parse_streams(builtin_text("default_test.yaml"), name), "built-in"
    target = path or local
    orders_path = target
    if target.is_file() and target.stem.endswith("_test"):
        orders_path = target.with_name(target.stem.removesuffix("_test") + target.suffix)
        if not orders_path.exists():
            orders_path = target.parent
    loaded = load(orders_path)
    streams: list[Stream] = []
    issues: list[Issue] = []
    for file in find_test_files(target):
        try:
            streams.extend(parse_streams(file.read_text(encoding="utf-8"), str(file)))
        except OrdersError as exc:
            issues.extend(exc.issues)
    if issues:
        raise OrdersError(issues, "watch streams")
    return loaded, streams, str(target)


def run_streams(orders: StandingOrders, streams: Sequence[Stream]) -> StreamReport:
    """Run each stream on a scratch database; compare with what it expects."""
    report = StreamReport(coverage={r.name: 0 for r in orders.watch})
    for stream in streams:
        with tempfile.TemporaryDirectory(prefix="watchkeeper-stream-") as scratch:
            raised, failures = _run(orders, stream, Path(scratch))
        for rule in {r for r, _ in raised}:
            if rule in report.coverage:
                report.coverage[rule] += 1
        report.results.append(StreamResult(stream, tuple(failures)))
    return report


def _run(
    orders: StandingOrders, stream: Stream, scratch: Path
) -> tuple[set[tuple[str, int]], list[str]]:
    from sqlalchemy import func, select

    from watchkeeper.config import Settings
    from watchkeeper.service import Service
    from watchkeeper.store.database import Store
    from watchkeeper.store.identities import User
    from watchkeeper.store.schema import watch_alerts

    store = Store.open(f"sqlite:///{scratch / 'stream.db'}")
    settings = dataclasses.replace(Settings.from_env(), audit_key=str(scratch / "audit.key"))
    service = Service.open(orders, store, settings)
    clock = [stream.start]
    service.watching.clock = lambda: clock[0]
    raised: set[tuple[str, int]] = set()
    decisions: list[str] = []
    approvals: dict[int, str | None] = {}
    failures: list[str] = []
    people: set[str] = set()
    try:
        for n, event in enumerate(stream.events, start=1):
            clock[0] = stream.start + float(event.get("at") or 0)
            with store.reading() as conn:
                before = conn.execute(select(func.count()).select_from(watch_alerts)).scalar_one()
            if "action" in event:
                done = service.submit(event["action"])
                decisions.append(done.decision.decision)
                approvals[n] = done.approval_id
            else:
                vote = event["vote"]
                approval = approvals.get(vote["on"])
                if approval is None:
                    failures.append(f"event {n}: event {vote['on']} opened no approval to vote on")
                    continue
                if vote["by"] not in people:
                    service.identities.add_user(vote["by"], role="approver", groups=[])
                    people.add(vote["by"])
                try:
                    service.vote(approval, User(vote["by"], "approver", ()), vote["vote"])
                except Exception as exc:  # a refused vote is the stream's to expect, named
                    failures.append(f"event {n}: the vote was refused: {exc}")
            with store.reading() as conn:
                new = conn.execute(
                    select(watch_alerts.c.rule).order_by(watch_alerts.c.audit_index).offset(before)
                ).all()
            raised.update((str(r[0]), n) for r in new)
        paused = {"all" if p["scope"] == "all" else f"{p['scope']} {p['target']}"
                  for p in service.pauses_in_force()}  # fmt: skip
        tightened = {f"{t['scope']} {t['target']}" for t in service.tightenings_in_force()}
    finally:
        service.close()
        store.close()
    _compare(failures, "alerts", stream.alerts, raised, _alert_words)
    _compare(failures, "pauses in force", stream.paused, paused, str)
    _compare(failures, "tightenings in force", stream.tightened, tightened, str)
    if stream.decisions is not None and tuple(decisions) != stream.decisions:
        failures.append(f"decisions: expected {', '.join(stream.decisions)}; got "
                        f"{', '.join(decisions)}")  # fmt: skip
    return raised, failures


def _alert_words(alert: Any) -> str:
    rule, at = alert
    return f"{rule} at event {at}"


def _compare(
    failures: list[str], what: str, expected: frozenset[Any] | None, got: set[Any], words: Any
) -> None:
    if expected is None or expected == got:
        return
    missing = ", ".join(sorted(words(x) for x in expected - got)) or "none"
    extra = ", ".join(sorted(words(x) for x in got - expected)) or "none"
    failures.append(f"{what} differ: expected but not there: {missing}; there but not "
                    f"expected: {extra}")  # fmt: skip

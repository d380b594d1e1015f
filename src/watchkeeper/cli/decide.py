"""Deciding and checking on the command line: ``check``, ``explain``, ``init``, ``test`` and
``lint``. Each decides through the service, as the server does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from watchkeeper import terminal
from watchkeeper.cli.shared import (
    LOCAL_ORDERS,
    JsonOption,
    OrdersOption,
    db_option,
    fail,
    load_orders,
    out,
    print_json,
    shown_lines,
)
from watchkeeper.config import ORDERS_ENV
from watchkeeper.decision import RESTRICTIVENESS, Decision, DecisionKind
from watchkeeper.doors.decider import decide_text, read_action
from watchkeeper.doors.quick import BUILTIN_NOTE
from watchkeeper.errors import Issue, OrdersError, UsageError
from watchkeeper.wording import plural

if TYPE_CHECKING:  # imported by the commands that use them, when they run
    from watchkeeper.orders.cases import Case
    from watchkeeper.orders.model import StandingOrders
    from watchkeeper.service import Service


EXIT_CODES: dict[str, int] = {"allow": 0, "ask": 10, "deny": 20}


def _service(orders: StandingOrders, db: str | None = None) -> Service:
    """The service for ``orders``; with ``db``, every decision is in that database's audit
    log before it is printed, under the pauses in force there."""
    from watchkeeper.service import Service

    try:
        store = None
        if db:
            from watchkeeper.store.database import Store

            store = Store.open(db)
        return Service.open(orders, store)
    except UsageError as exc:
        fail(str(exc))


def _read_input(file: str) -> str:
    if file == "-":
        if sys.stdin.isatty():
            sys.stderr.write("reading one action as JSON from stdin; end it with Ctrl-D\n")
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read action file {file!r}: {exc.strerror}; pass a JSON file or - for stdin")
    except UnicodeDecodeError:
        fail(f"action file {file!r} is not UTF-8 text; pass a JSON file")


def check(
    file: Annotated[str, typer.Argument(help="Action JSON file, or - for stdin.")] = "-",
    orders: OrdersOption = None,
    as_json: JsonOption = False,
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="Read one action per line; write one decision per line."),
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 0 for allow, 10 for ask, 20 for deny."),
    ] = False,
    db: Annotated[
        str | None,
        db_option(
            "Record each action and decision in this database's audit log before "
            "printing it (sqlite:///PATH or postgresql://…)."
        ),
    ] = None,
) -> None:
    """Decide an action and print the decision."""
    from watchkeeper.display import decision_panel

    loaded, label = load_orders(orders)
    service = _service(loaded, db)
    try:
        worst: DecisionKind = "allow"
        if jsonl:
            # Lines end at "\n" only, in files as on stdin: JSON strings may hold U+2028 and \r.
            lines = sys.stdin if file == "-" else _read_input(file).split("\n")
            decided = 0
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                decision = decide_text(service, line)
                if decision.decision == "deny" and decision.reasons[0].startswith("invalid action"):
                    decision = Decision.fail_closed(
                        f"line {number}: {decision.reasons[0]}", orders_digest=loaded.digest
                    )
                # Which input line this answers, since blank lines are skipped.
                print_json({**decision.to_json(), "line": number})
                decided += 1
                if RESTRICTIVENESS[decision.decision] > RESTRICTIVENESS[worst]:
                    worst = decision.decision
            if not decided:
                # An empty batch is more likely a broken pipe upstream than nothing to decide.
                fail("no actions read: --jsonl expects one action JSON per line")
        else:
            decision = decide_text(service, _read_input(file))
            worst = decision.decision
            if as_json:
                print_json(decision.to_json())
            else:
                out.print(
                    decision_panel(decision, title=None if file == "-" else file, orders=label)
                )
    finally:  # what was recorded is committed; the database is let go
        service.close()
        if service.store is not None:
            service.store.close()
    raise typer.Exit(EXIT_CODES[worst] if exit_code else 0)


def explain(
    file: Annotated[str, typer.Argument(help="Action JSON file, or - for stdin.")] = "-",
    orders: OrdersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show every rule's verdict on an action, and why."""
    from watchkeeper.display import explanation_table
    from watchkeeper.orders.explain import Explanation

    loaded, _ = load_orders(orders)
    data, problem = read_action(_read_input(file))
    gateway = _service(loaded).gateway
    if problem is not None:
        explanation = Explanation(
            Decision.fail_closed(problem, orders_digest=loaded.digest), (), ()
        )
    else:
        explanation = gateway.explain(data)
    if as_json:
        print_json(explanation.to_json())
    else:
        out.print(explanation_table(explanation))


def init(
    path: Annotated[
        Path, typer.Argument(help="Where to write the standing orders.")
    ] = LOCAL_ORDERS,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help="workstation (a coding agent on a laptop; the built-in defaults), infra "
            "(agents on shared infrastructure) or support (agents acting on customers' accounts).",
        ),
    ] = "workstation",
) -> None:
    """Write a profile's standing orders and their tests, to edit as your own."""
    from watchkeeper.orders.loader import PROFILES, builtin_text

    if profile not in PROFILES:
        fail(f"--profile {profile!r} is not a profile; use one of: {', '.join(PROFILES)}")
    source = PROFILES[profile]

    if path.is_dir() or str(path).endswith(("/", os.sep)):
        path = path / LOCAL_ORDERS
    test_path = path.with_name(path.stem + "_test" + (path.suffix or ".yaml"))
    for target in (path, test_path):
        if target.exists() and not force:
            fail(f"{target} already exists; edit it, or pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(builtin_text(source), encoding="utf-8")
    test_path.write_text(builtin_text(source.replace(".yaml", "_test.yaml")), encoding="utf-8")
    out.print(terminal.text(f"wrote {path} and {test_path}"), soft_wrap=True)
    out.print(terminal.text(f"next: edit them, then run `watchkeeper test {path}`"), soft_wrap=True)


def _cases_for(path: Path | None) -> tuple[StandingOrders, list[Case], str]:
    """Orders and test cases: from ``path``, ./watchkeeper.yaml, or the built-in defaults."""
    from watchkeeper.orders.cases import find_test_files, parse_cases
    from watchkeeper.orders.loader import builtin, builtin_text, load

    if path is None and not LOCAL_ORDERS.exists():
        sys.stderr.write(BUILTIN_NOTE)
        text = builtin_text("default_test.yaml")
        return builtin(), parse_cases(text, "<builtin>/default_test.yaml"), "built-in defaults"
    target = path or LOCAL_ORDERS
    orders_path = target
    if target.is_file() and target.stem.endswith("_test"):
        orders_path = target.with_name(target.stem.removesuffix("_test") + target.suffix)
        if not orders_path.exists():
            orders_path = target.parent
    loaded = load(orders_path)
    cases: list[Case] = []
    files = find_test_files(target)
    if not files:
        fail(f"no *_test.yaml files found for {target}; write one beside the orders")
    issues = []
    for f in files:
        try:
            cases.extend(parse_cases(f.read_text(encoding="utf-8"), str(f)))
        except OrdersError as exc:
            issues.extend(exc.issues)
    if issues:
        raise OrdersError(issues)
    return loaded, cases, str(target)


def run_tests(
    path: Annotated[
        Path | None, typer.Argument(help="Orders file or directory with *_test.yaml.")
    ] = None,
    orders: OrdersOption = None,
    min_coverage: Annotated[
        float,
        typer.Option("--min-coverage", help="Fail when fewer than N% of rules are exercised."),
    ] = 0.0,
    as_json: JsonOption = False,
    db: Annotated[
        str | None,
        db_option(
            "Record the run (orders digest, results, coverage) in this database's audit "
            "log: when the orders were last tested is then on record."
        ),
    ] = None,
) -> None:
    """Run the policy tests beside the standing orders and report rule coverage."""
    from watchkeeper.display import report_lines
    from watchkeeper.orders.cases import run_cases

    if path is not None and orders is not None and path != orders:
        fail(f"give the orders once: as PATH ({path}) or as --orders ({orders}), not both")
    try:
        loaded, cases, label = _cases_for(path or orders)
    except OrdersError as exc:
        fail(str(exc))
    report = run_cases(loaded, cases, _service(loaded).gateway.decide)
    passed = len(report.results) - len(report.failed)
    coverage = report.coverage_percent
    low = coverage + 1e-9 < min_coverage
    if db:
        _record_test_run(db, loaded, label, passed, len(report.failed), coverage)
    if as_json:
        print_json(
            {
                "orders": label,
                "passed": passed,
                "failed": len(report.failed),
                "coverage": round(coverage, 1),
                "rules": report.coverage,
                "failures": [
                    {
                        "case": r.case.name,
                        "where": f"{r.case.where.file}:{r.case.where.line}:{r.case.where.col}",
                        "problems": list(r.failures),
                    }
                    for r in report.failed
                ],
            }
        )
    else:
        # Lines are never broken: editors and CI read file:line:col from them.
        out.print(report_lines(report), soft_wrap=True)
        out.print(
            f"rule coverage {coverage:.0f}%"
            + (f" (below the required {min_coverage:g}%)" if low else "")
        )
        out.print(f"{passed} passed, {len(report.failed)} failed")
    if report.failed or low or not report.results:
        raise typer.Exit(1)


def _record_test_run(
    db: str, orders: StandingOrders, label: str, passed: int, failed: int, coverage: float
) -> None:
    """The run as an audit event; a run that cannot be recorded is a failed command."""
    from watchkeeper.store.audit import AuditLog
    from watchkeeper.store.database import Store

    event = {
        "kind": "test_run",
        "orders": label,
        "orders_digest": orders.digest,
        "passed": passed,
        "failed": failed,
        "coverage": round(coverage, 1),
    }
    try:
        store = Store.open(db)
        try:
            AuditLog(store).append([event])
        finally:
            store.close()
    except Exception as exc:
        fail(f"the test run could not be recorded in the audit log: {exc}")


def _issue_json(issue: Issue) -> dict[str, object]:
    return {"file": issue.file, "line": issue.line, "col": issue.col, "message": issue.message}


def lint(
    path: Annotated[
        Path | None, typer.Argument(help="Orders file or directory (default ./watchkeeper.yaml).")
    ] = None,
    as_json: JsonOption = False,
    db: Annotated[
        str | None,
        db_option("Also check the people in this database against the orders' groups."),
    ] = None,
) -> None:
    """Check standing orders and their tests: every error as file:line:col, then warnings."""
    from watchkeeper.orders.cases import find_test_files, parse_cases
    from watchkeeper.orders.declarations import code_hints
    from watchkeeper.orders.loader import load

    target = path or Path(os.environ.get(ORDERS_ENV) or LOCAL_ORDERS)
    issues: list[Issue] = []
    loaded = None
    try:
        loaded = load(target)
    except OrdersError as exc:
        issues.extend(exc.issues)
    cases: list[Case] = []
    for f in find_test_files(target):
        try:
            cases.extend(parse_cases(f.read_text(encoding="utf-8"), str(f)))
        except OrdersError as exc:
            issues.extend(exc.issues)
    warnings: list[Issue] = []
    if loaded is not None:
        # Tests show what tools are really sent: SQL in a tool that names no SQL field.
        examples = [(c.action, c.where) for c in cases]
        warnings = sorted(
            [*loaded.warnings, *code_hints(loaded, examples)],
            key=lambda w: (w.file, w.line, w.col),
        )
    if loaded is not None and db is not None:
        from watchkeeper.cli.serve import membership_findings

        warnings += [Issue(db, 0, 0, w) for w in membership_findings(db, loaded)]
    if as_json:
        print_json(
            {
                "ok": not issues,
                "errors": [_issue_json(i) for i in OrdersError(issues).issues],
                "warnings": [_issue_json(w) for w in warnings],
            }
        )
        raise typer.Exit(1 if issues else 0)
    if issues:
        fail(str(OrdersError(issues)), code=1)
    for w in warnings:
        where = f"{w.file}:{w.line}:{w.col}" if w.line else w.file
        sys.stderr.write(shown_lines(f"{where}: warning: {w.message}") + "\n")
    if loaded is not None:
        noted = f", {plural(len(warnings), 'warning')}" if warnings else ""
        counts = ", ".join([plural(len(loaded.rules), "rule"),
                            plural(len(loaded.environments), "environment"),
                            plural(len(loaded.agents), "agent"),
                            plural(len(loaded.tools), "declared tool"),
                            plural(len(loaded.watch), "watch rule")])  # fmt: skip
        out.print(terminal.text(f"{target}: ok: {counts}{noted}"), soft_wrap=True)

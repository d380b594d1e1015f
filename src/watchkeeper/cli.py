"""The ``watchkeeper`` command.

Exit status: 0 when a decision was made (or, with ``--exit-code``: 0 allow, 10 ask, 20 deny),
1 for a failed check (``lint``, ``test``), 2 for usage errors and refused standing orders.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from watchkeeper import __version__, strict_json, terminal
from watchkeeper.cli_shared import (
    BUILTIN_NOTE,
    LOCAL_ORDERS,
    OrdersOption,
    fail,
    load_orders,
    shown_lines,
)
from watchkeeper.config import ORDERS_ENV, Settings
from watchkeeper.decision import RESTRICTIVENESS, Decision, DecisionKind
from watchkeeper.errors import InvalidJSON, Issue, OrdersError, UsageError, WatchkeeperError
from watchkeeper.orders.cases import Case, find_test_files, parse_cases, run_cases
from watchkeeper.orders.declarations import code_hints
from watchkeeper.orders.explain import Explanation
from watchkeeper.orders.loader import builtin, builtin_text, load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.service import Service
from watchkeeper.wording import plural

EXIT_CODES: dict[str, int] = {"allow": 0, "ask": 10, "deny": 20}

app = typer.Typer(
    name="watchkeeper",
    help="Operational control for AI agents: decide, explain and test actions "
    "against standing orders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, markup=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a panel.")]


def _db_option(help_text: str) -> Any:
    """The ``--db`` option every command that uses the database takes."""
    return typer.Option("--db", envvar="WATCHKEEPER_DB", help=help_text)


_fail = fail
_lines = shown_lines
_orders = load_orders


def _version(value: bool) -> None:
    if value:
        out.print(f"watchkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """watchkeeper keeps the watch for AI agents."""


def _service(orders: StandingOrders, db: str | None = None) -> Service:
    """The service for ``orders``; with ``db``, every decision is in that database's audit
    log before it is printed, under the pauses in force there."""
    try:
        store = None
        if db:
            from watchkeeper.store.database import Store

            store = Store.open(db)
        return Service.open(orders, store)
    except UsageError as exc:
        _fail(str(exc))


def _read_action(source: str) -> tuple[Any, str | None]:
    """Parse one action document; return (data, None) or (None, problem)."""
    try:
        return strict_json.loads(source, what="the action"), None
    except InvalidJSON as exc:
        return None, f"invalid action: {exc}"


def _read_input(file: str) -> str:
    if file == "-":
        if sys.stdin.isatty():
            sys.stderr.write("reading one action as JSON from stdin; end it with Ctrl-D\n")
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read action file {file!r}: {exc.strerror}; pass a JSON file or - for stdin")
    except UnicodeDecodeError:
        _fail(f"action file {file!r} is not UTF-8 text; pass a JSON file")


def _decide(service: Service, text: str) -> Decision:
    data, problem = _read_action(text)
    if problem is not None:
        return Decision.fail_closed(problem, orders_digest=service.orders.digest)
    # A command that exits cannot take a grant: an ``ask`` opens no approval.
    return service.submit(data, open_approval=False).decision


def _print_json(value: Any) -> None:
    sys.stdout.write(terminal.json_text(value) + "\n")
    sys.stdout.flush()


@app.command()
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
        _db_option(
            "Record each action and decision in this database's audit log before "
            "printing it (sqlite:///PATH or postgresql://…)."
        ),
    ] = None,
) -> None:
    """Decide an action and print the decision."""
    from watchkeeper.display import decision_panel

    loaded, label = _orders(orders)
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
                decision = _decide(service, line)
                if decision.decision == "deny" and decision.reasons[0].startswith("invalid action"):
                    decision = Decision.fail_closed(
                        f"line {number}: {decision.reasons[0]}", orders_digest=loaded.digest
                    )
                # Which input line this answers, since blank lines are skipped.
                _print_json({**decision.to_json(), "line": number})
                decided += 1
                if RESTRICTIVENESS[decision.decision] > RESTRICTIVENESS[worst]:
                    worst = decision.decision
            if not decided:
                # An empty batch is more likely a broken pipe upstream than nothing to decide.
                _fail("no actions read: --jsonl expects one action JSON per line")
        else:
            decision = _decide(service, _read_input(file))
            worst = decision.decision
            if as_json:
                _print_json(decision.to_json())
            else:
                out.print(
                    decision_panel(decision, title=None if file == "-" else file, orders=label)
                )
    finally:  # what was recorded is committed; the database is let go
        service.close()
        if service.store is not None:
            service.store.close()
    raise typer.Exit(EXIT_CODES[worst] if exit_code else 0)


@app.command()
def explain(
    file: Annotated[str, typer.Argument(help="Action JSON file, or - for stdin.")] = "-",
    orders: OrdersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show every rule's verdict on an action, and why."""
    from watchkeeper.display import explanation_table

    loaded, _ = _orders(orders)
    data, problem = _read_action(_read_input(file))
    gateway = _service(loaded).gateway
    if problem is not None:
        explanation = Explanation(
            Decision.fail_closed(problem, orders_digest=loaded.digest), (), ()
        )
    else:
        explanation = gateway.explain(data)
    if as_json:
        _print_json(explanation.to_json())
    else:
        out.print(explanation_table(explanation))


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Where to write the standing orders.")
    ] = LOCAL_ORDERS,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write the built-in default standing orders and their tests, to edit as your own."""
    if path.is_dir() or str(path).endswith(("/", os.sep)):
        path = path / LOCAL_ORDERS
    test_path = path.with_name(path.stem + "_test" + (path.suffix or ".yaml"))
    for target in (path, test_path):
        if target.exists() and not force:
            _fail(f"{target} already exists; edit it, or pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(builtin_text(), encoding="utf-8")
    test_path.write_text(builtin_text("default_test.yaml"), encoding="utf-8")
    out.print(terminal.text(f"wrote {path} and {test_path}"), soft_wrap=True)
    out.print(terminal.text(f"next: edit them, then run `watchkeeper test {path}`"), soft_wrap=True)


def _cases_for(path: Path | None) -> tuple[StandingOrders, list[Case], str]:
    """Orders and test cases: from ``path``, ./watchkeeper.yaml, or the built-in defaults."""
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
        _fail(f"no *_test.yaml files found for {target}; write one beside the orders")
    issues = []
    for f in files:
        try:
            cases.extend(parse_cases(f.read_text(encoding="utf-8"), str(f)))
        except OrdersError as exc:
            issues.extend(exc.issues)
    if issues:
        raise OrdersError(issues)
    return loaded, cases, str(target)


@app.command("test")
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
        _db_option(
            "Record the run (orders digest, results, coverage) in this database's audit "
            "log: when the orders were last tested is then on record."
        ),
    ] = None,
) -> None:
    """Run the policy tests beside the standing orders and report rule coverage."""
    from watchkeeper.display import report_lines

    if path is not None and orders is not None and path != orders:
        _fail(f"give the orders once: as PATH ({path}) or as --orders ({orders}), not both")
    try:
        loaded, cases, label = _cases_for(path or orders)
    except OrdersError as exc:
        _fail(str(exc))
    report = run_cases(loaded, cases, _service(loaded).gateway.decide)
    passed = len(report.results) - len(report.failed)
    coverage = report.coverage_percent
    low = coverage + 1e-9 < min_coverage
    if db:
        _record_test_run(db, loaded, label, passed, len(report.failed), coverage)
    if as_json:
        _print_json(
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
        out.print(report_lines(report))
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
        _fail(f"the test run could not be recorded in the audit log: {exc}")


def _issue_json(issue: Issue) -> dict[str, object]:
    return {"file": issue.file, "line": issue.line, "col": issue.col, "message": issue.message}


@app.command()
def lint(
    path: Annotated[
        Path | None, typer.Argument(help="Orders file or directory (default ./watchkeeper.yaml).")
    ] = None,
    as_json: JsonOption = False,
    db: Annotated[
        str | None,
        _db_option("Also check the people in this database against the orders' groups."),
    ] = None,
) -> None:
    """Check standing orders and their tests: every error as file:line:col, then warnings."""
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
        warnings += [Issue(db, 0, 0, w) for w in _membership_findings(db, loaded)]
    if as_json:
        _print_json(
            {
                "ok": not issues,
                "errors": [_issue_json(i) for i in OrdersError(issues).issues],
                "warnings": [_issue_json(w) for w in warnings],
            }
        )
        raise typer.Exit(1 if issues else 0)
    if issues:
        _fail(str(OrdersError(issues)), code=1)
    for w in warnings:
        where = f"{w.file}:{w.line}:{w.col}" if w.line else w.file
        sys.stderr.write(_lines(f"{where}: warning: {w.message}") + "\n")
    if loaded is not None:
        noted = f", {plural(len(warnings), 'warning')}" if warnings else ""
        counts = ", ".join([plural(len(loaded.rules), "rule"),
                            plural(len(loaded.environments), "environment"),
                            plural(len(loaded.agents), "agent"),
                            plural(len(loaded.tools), "declared tool")])  # fmt: skip
        out.print(terminal.text(f"{target}: ok: {counts}{noted}"), soft_wrap=True)


@app.command()
def serve(
    orders: OrdersOption = None,
    db: Annotated[
        str | None, _db_option("Database URL (default: sqlite:///.watchkeeper/watchkeeper.db).")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8470,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin",
            help="Create this admin if they do not exist yet, and print their one-time "
            "password and a personal token (once).",
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as text or json (one object a line).")
    ] = "text",
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info (a line per request), warning, error.")
    ] = "info",
) -> None:
    """Serve the HTTP API: decisions recorded before they are answered (see /openapi.json).

    Logs to stderr: a banner, then one line per request and one per decision (never a secret).
    """
    import uvicorn

    from watchkeeper.server import logs
    from watchkeeper.server.app import create_app
    from watchkeeper.store.database import Store

    if log_format not in logs.FORMATS:
        _fail(f"--log-format {log_format!r}: use one of {', '.join(logs.FORMATS)}")
    if log_level not in logs.LEVELS:
        _fail(f"--log-level {log_level!r}: use one of {', '.join(logs.LEVELS)}")
    loaded, label = _orders(orders)
    try:
        settings = Settings.from_env()
        store = Store.open(db)
        application = create_app(loaded, store, settings)
        if admin:
            _first_admin(store, admin, f"http://{host}:{port}")
        for finding in _memberships(store, loaded):  # loudly: they grant nothing
            sys.stderr.write(terminal.shown(f"WARNING: {finding}") + "\n")
    except UsageError as exc:
        _fail(str(exc))
    logs.configure(log_format, log_level)  # now that it will serve: nothing before needs it
    logs.server.info(
        f"watchkeeper {__version__} serving on http://{host}:{port}",
        extra={"orders": label, "orders_digest": loaded.digest, "database": store.shown_url,
               "checkpoint_key": str(application.state.verifier)},
    )  # fmt: skip
    # What was built at start (orders, analyzers, schema) lives as long as the process: out of
    # the collector's sight. Young collections run less often: a request allocates thousands
    # of short-lived objects, and tracing them often cost a tenth of the server's time.
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.close()


def _memberships(store: Any, orders: StandingOrders) -> list[str]:
    """What the accounts in ``store`` say of groups that the orders do not."""
    from watchkeeper.membership import findings
    from watchkeeper.store.identities import Identities

    people = Identities(store).users()
    return findings({p["email"]: p["stored_groups"] for p in people}, orders.groups)


def _membership_findings(db: str, orders: StandingOrders) -> list[str]:
    from watchkeeper.store.database import Store

    try:
        store = Store.open(db)
    except UsageError as exc:
        _fail(str(exc))
    try:
        return _memberships(store, orders)
    finally:
        store.close()


def _first_admin(store: Any, email: str, url: str) -> None:
    """Create ``email`` as an admin unless they exist; print what they need to sign in, once."""
    from watchkeeper.store.identities import Identities, IdentityError

    ids = Identities(store)
    try:
        password = ids.add_user(email, role="admin", groups=[], password=None)
    except IdentityError as exc:
        if "already exists" not in str(exc):
            raise
        note = f"admin {email} exists; `watchkeeper users token {email}` for a token"
        sys.stderr.write(terminal.shown(note) + "\n")
        return
    token = ids.issue_token(email, Settings.from_env().token_seconds())
    sys.stderr.write(
        f"admin {terminal.shown(email)} created. Shown once, keep them secret:\n"
        f"  one-time password: {password}\n"
        f"  personal token:    {token}\n"
        f"  try: WATCHKEEPER_SERVER={terminal.shown(url)} WATCHKEEPER_TOKEN={token} "
        "watchkeeper approvals list\n"
    )


def _register() -> None:
    from watchkeeper.cli_approvals import approvals_app, pause_app, resume
    from watchkeeper.cli_audit import audit_app, db_app
    from watchkeeper.cli_identities import agents_app, users_app

    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
    app.add_typer(agents_app, name="agents")
    app.add_typer(users_app, name="users")
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(pause_app, name="pause")
    app.command("resume")(resume)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except WatchkeeperError as exc:
        sys.stderr.write(_lines(str(exc)) + "\n")
        sys.exit(2)

"""``watchkeeper serve``: the HTTP API over the service, with a banner and a line per request."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from watchkeeper import __version__, terminal
from watchkeeper.cli.shared import (
    OrdersOption,
    db_option,
    fail,
    load_orders,
)
from watchkeeper.config import Settings
from watchkeeper.errors import UsageError

if TYPE_CHECKING:  # imported by the commands that use them, when they run
    from watchkeeper.orders.model import StandingOrders


def serve(
    orders: OrdersOption = None,
    db: Annotated[
        str | None, db_option("Database URL (default: sqlite:///.watchkeeper/watchkeeper.db).")
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
        fail(f"--log-format {log_format!r}: use one of {', '.join(logs.FORMATS)}")
    if log_level not in logs.LEVELS:
        fail(f"--log-level {log_level!r}: use one of {', '.join(logs.LEVELS)}")
    loaded, label = load_orders(orders)
    try:
        settings = Settings.from_env()
        store = Store.open(db)
        application = create_app(loaded, store, settings)
        if admin:
            _first_admin(store, admin, f"http://{host}:{port}")
        for finding in _memberships(store, loaded):  # loudly: they grant nothing
            sys.stderr.write(terminal.shown(f"WARNING: {finding}") + "\n")
    except UsageError as exc:
        fail(str(exc))
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


def membership_findings(db: str, orders: StandingOrders) -> list[str]:
    from watchkeeper.store.database import Store

    try:
        store = Store.open(db)
    except UsageError as exc:
        fail(str(exc))
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
        f"  the console: {terminal.shown(url)}/ (sign in with the one-time password, then "
        "choose your own)\n"
        f"  the terminal: WATCHKEEPER_SERVER={terminal.shown(url)} WATCHKEEPER_TOKEN={token} "
        "watchkeeper approvals list\n"
    )

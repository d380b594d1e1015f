"""``watchkeeper agents …`` and ``watchkeeper users …``: who may ask, and who may answer.

These work on the database directly (``--db`` / ``WATCHKEEPER_DB``), like the server. Secrets
(API keys, tokens, generated passwords) are printed once and stored only as hashes.
"""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from watchkeeper.cli.audit import DbOption
from watchkeeper.cli.shared import OrdersOption, load_orders
from watchkeeper.config import Settings
from watchkeeper.errors import UsageError
from watchkeeper.membership import ROLES, check_new, effective, findings
from watchkeeper.terminal import json_text, shown
from watchkeeper.wording import plural, seconds

if TYPE_CHECKING:  # the store is imported when a command runs
    from watchkeeper.store.identities import Identities

agents_app = typer.Typer(help="Agents: each gets one API key.", no_args_is_help=True)
users_app = typer.Typer(help="People who approve, audit or administer.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(shown(message.rstrip("\n")) + "\n")
    raise typer.Exit(code)


def _identities(db: str | None) -> Identities:
    from watchkeeper.store.database import Store
    from watchkeeper.store.identities import Identities

    try:
        return Identities(Store.open(db))
    except UsageError as exc:
        _fail(str(exc))


@agents_app.command("add")
def agents_add(
    name: Annotated[str, typer.Argument(help="The agent's name, as its actions will carry it.")],
    db: DbOption = None,
) -> None:
    """Register an agent and print its API key (once: only its hash is kept)."""
    ids = _identities(db)
    try:
        key = ids.add_agent(name)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    sys.stderr.write(shown(f"agent {name} added; its API key (shown once, keep it secret):") + "\n")
    print(key)


@agents_app.command("revoke")
def agents_revoke(
    name: Annotated[str, typer.Argument(help="The agent whose key stops working.")],
    db: DbOption = None,
) -> None:
    """Revoke an agent's key: refused by every server from its next request. Audited."""
    ids = _identities(db)
    try:
        ids.revoke_agent(name)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    sys.stderr.write(shown(f"agent {name} revoked; its key is refused from now on") + "\n")


@agents_app.command("list")
def agents_list(db: DbOption = None) -> None:
    """The agents, and whether their keys work."""
    ids = _identities(db)
    try:
        for agent in ids.agents():
            state = f"revoked {agent['revoked_at']}" if agent["revoked_at"] else "active"
            print(f"{shown(agent['name'])}\t{shown(state)}")
    finally:
        ids.store.close()


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="A group they belong to.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "approver",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
    orders: OrdersOption = None,
) -> None:
    """Add a person. Without --password-stdin: asks on a terminal, else prints a one-time one.

    Which groups a person answers for is what the standing orders' `groups:` lists: a --group
    the orders define without this person is refused; one they do not define grants nothing
    (a warning says so)."""
    loaded, _label = load_orders(orders)
    try:
        warnings = check_new(email, group or [], loaded.groups)
    except UsageError as exc:
        _fail(str(exc))
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            _fail("the two passwords differ; nothing was added")
    ids = _identities(db)
    try:
        generated = ids.add_user(email, role=role, groups=list(group or []), password=password)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    groups = ", ".join(effective(email, loaded.groups)) or "none"
    sys.stderr.write(
        shown(f"user {email} added ({role}; in the standing orders' groups: {groups})") + "\n"
    )
    for warning in warnings:
        sys.stderr.write(shown(f"WARNING: {warning}") + "\n")
    if generated is not None:
        sys.stderr.write("one-time password (shown once):\n")
        print(generated)


@users_app.command("list")
def users_list(
    db: DbOption = None,
    orders: OrdersOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The people: role, the groups they answer for (by the standing orders), working tokens,
    and whether their account is disabled."""
    loaded, _label = load_orders(orders)
    ids = _identities(db)
    try:
        people = ids.users()
    finally:
        ids.store.close()
    for person in people:
        person["groups"] = effective(person["email"], loaded.groups)
    if as_json:
        print(json_text({"users": people}, indent=2))
        return
    for person in people:
        state = f"disabled {person['disabled_at']}" if person["disabled_at"] else "active"
        print(
            "\t".join(
                shown(field)
                for field in (person["email"], person["role"],
                              f"groups: {', '.join(person['groups']) or '-'}",
                              plural(person["tokens"], "token"), state)
            )
        )  # fmt: skip
    for finding in findings({p["email"]: p["stored_groups"] for p in people}, loaded.groups):
        sys.stderr.write(shown(f"WARNING: {finding}") + "\n")


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="Whose token.")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="How long it works: 90d, 12h, 30m, or never. Default: WATCHKEEPER_TOKEN_EXPIRES "
            "(90d).",
        ),
    ] = None,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke every working token of theirs instead.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Print a new personal token for a person (once: only its hash is kept), or --revoke
    theirs: refused by every server from the next request."""
    if revoke and expires is not None:
        _fail("give --revoke or --expires, not both")
    lifetime = _lifetime(expires)
    ids = _identities(db)
    try:
        if revoke:
            count = ids.revoke_tokens(email)
        else:
            token = ids.issue_token(email, lifetime)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    if revoke:
        sys.stderr.write(shown(f"revoked {plural(count, 'token')} of {email}") + "\n")
        return
    until = "never expires" if lifetime is None else f"expires in {_days(lifetime)}"
    sys.stderr.write(shown(f"a token for {email} ({until}; shown once, keep it secret):") + "\n")
    print(token)


def _days(lifetime: float) -> str:
    days = lifetime / 86400
    return plural(round(days), "day") if days >= 1 else f"{lifetime / 3600:g} h"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except UsageError as exc:
        _fail(str(exc))


def _lifetime(expires: str | None) -> float | None:
    """Seconds a new token works (``None``: until revoked), from --expires or the setting."""
    if expires is None:
        return _settings().token_seconds()
    if expires.strip() == "never":
        return None
    found = seconds(expires)
    if not found:
        _fail(f"--expires {expires!r} is not a duration; write it like 90d, 12h or 30m, or never")
    return float(found)


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="Whose password.")],
    db: DbOption = None,
) -> None:
    """Give a person who cannot sign in a new one-time password (printed once): the old one
    stops working, their console sessions end, and their next sign-in asks for a password of
    their own. Audited. Their personal tokens are not touched (`users token --revoke`)."""
    ids = _identities(db)
    try:
        generated = ids.reset_password(email)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    sys.stderr.write(shown(f"user {email}: one-time password (shown once):") + "\n")
    print(generated)


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(help="Whose account.")],
    db: DbOption = None,
) -> None:
    """Disable an account: its tokens are refused by every server from the next request, and
    its votes stop counting. Audited; `users enable` undoes it."""
    _toggle(email, db, disable=True)


@users_app.command("enable")
def users_enable(
    email: Annotated[str, typer.Argument(help="Whose account.")],
    db: DbOption = None,
) -> None:
    """Enable a disabled account again (tokens revoked meanwhile stay revoked). Audited."""
    _toggle(email, db, disable=False)


def _toggle(email: str, db: str | None, disable: bool) -> None:
    ids = _identities(db)
    try:
        (ids.disable_user if disable else ids.enable_user)(email)
    except UsageError as exc:
        _fail(str(exc))
    finally:
        ids.store.close()
    done = "disabled: refused from the next request" if disable else "enabled"
    sys.stderr.write(shown(f"user {email} {done}") + "\n")

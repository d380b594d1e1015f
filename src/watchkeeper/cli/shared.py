"""What the command groups share: failing with a message, printing, the options every group
takes, and finding the standing orders.

    orders, label = load_orders(path)   # --orders PATH, else ./watchkeeper.yaml, else built-in
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from watchkeeper import terminal
from watchkeeper.config import ORDERS_ENV, SETTING
from watchkeeper.doors import quick
from watchkeeper.doors.quick import BUILTIN_NOTE
from watchkeeper.errors import OrdersError

if TYPE_CHECKING:  # imported by the commands that use them, when they run
    from watchkeeper.orders.model import StandingOrders


#: Where panels and tables go: markup off, so text from agents and people prints as text.
out = Console(highlight=False, markup=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a panel.")]


def db_option(help_text: str) -> Any:
    """The ``--db`` option every command that uses the database takes."""
    return typer.Option("--db", envvar=SETTING["db"].env, help=help_text)


def print_json(value: Any) -> None:
    """``value`` as one line of JSON on stdout, nothing in it raw (see :mod:`terminal`)."""
    sys.stdout.write(terminal.json_text(value) + "\n")
    sys.stdout.flush()


LOCAL_ORDERS = Path(quick.LOCAL_ORDERS)
OrdersOption = Annotated[
    Path | None,
    typer.Option(
        "--orders",
        envvar=ORDERS_ENV,
        help="Standing orders file or directory. Default: ./watchkeeper.yaml if present, "
        "else the built-in defaults.",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr, each line as text, and exit with ``code``."""
    # Plain text, never wrapped: editors and CI parse file:line:col from these lines.
    sys.stderr.write(shown_lines(message.rstrip("\n")) + "\n")
    raise typer.Exit(code)


def shown_lines(message: str) -> str:
    """A message of several lines (every error in a file, a source line and its caret), each
    line shown as text: the values in them come from files, actions and servers."""
    return "\n".join(terminal.shown(line) for line in message.split("\n"))


def load_orders(path: Path | None) -> tuple[StandingOrders, str]:
    """The standing orders at ``path``, else ``./watchkeeper.yaml``, else the built-in ones
    (said on stderr, never silently); exits 2 naming every error of refused orders."""
    from watchkeeper.orders.loader import builtin, load

    try:
        if path is not None:
            return load(path), str(path)
        if LOCAL_ORDERS.exists():
            return load(LOCAL_ORDERS), str(LOCAL_ORDERS)
        sys.stderr.write(BUILTIN_NOTE)  # never silently: a gate run in the wrong place shows it
        return builtin(), "built-in defaults"
    except OrdersError as exc:
        fail(str(exc))

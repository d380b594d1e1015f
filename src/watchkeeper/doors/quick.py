"""``watchkeeper check --json`` answered by the warm decider, before the full command line loads.

``check --json`` is what scripts and CI steps run once per action, so it gets the same fast
path as the hook: when the command line is one this module reads (``--json``, ``--exit-code``,
``--orders PATH``, ``--db URL``, one action file or ``-``) and a warm decider answers, the
decision is printed exactly as the full command would print it. Anything else (another option,
a terminal on stdin, a file that cannot be read, no decider yet) returns ``None`` and the full
command runs (on what was read from stdin, if anything was), which says what is wrong as it
always has::

    code = quick.check(["--json", "action.json"])    # None: run the full command instead
"""

from __future__ import annotations

import os
import sys

from watchkeeper.doors import warm

#: The orders ``check`` reads when none are named, from where it runs.
LOCAL_ORDERS = "watchkeeper.yaml"
#: Said on stderr whenever the built-in orders are used because nothing else was found.
BUILTIN_NOTE = (
    "note: no --orders, no WATCHKEEPER_ORDERS and no ./watchkeeper.yaml: using the built-in "
    "defaults (`watchkeeper init` writes them here to edit)\n"
)
#: Exit statuses with ``--exit-code``.
EXIT_CODES = {"allow": 0, "ask": 10, "deny": 20}
_VALUED = ("--orders", "--db")


def check(args: list[str]) -> int | None:
    """Print the decision on one action and return the exit status, or ``None``."""
    options: dict[str, str] = {}
    flags: set[str] = set()
    files: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name in _VALUED:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if name in options or not value:
                return None
            options[name] = value
        elif arg in ("--json", "--exit-code") and arg not in flags:
            flags.add(arg)
        elif arg == "-" or not arg.startswith("-"):
            files.append(arg)
        else:
            return None
    if "--json" not in flags or len(files) > 1:
        return None
    text = _read(files[0] if files else "-")
    if text is None:
        return None
    orders = options.get("--orders") or os.environ.get("WATCHKEEPER_ORDERS") or None
    builtin = orders is None and not os.path.exists(LOCAL_ORDERS)
    if orders is None and not builtin:
        orders = LOCAL_ORDERS
    db = options.get("--db") or os.environ.get("WATCHKEEPER_DB") or None
    try:
        reply = warm.call(
            "shown", (), text.encode(), orders=orders, db=db, timeout=warm.DECIDE_SECONDS
        )
    except (TimeoutError, UnicodeEncodeError):  # stopped, or not UTF-8: the full command
        reply = None
    if reply is None:
        if not files or files[0] == "-":  # what was read is the full command's to read again
            import io

            sys.stdin = io.StringIO(text)
        return None
    if builtin:
        sys.stderr.write(BUILTIN_NOTE)  # never silently, as the full command says it
    kind, shown = reply
    sys.stdout.write(shown.decode() + "\n")
    sys.stdout.flush()
    return EXIT_CODES.get(kind, 20) if "--exit-code" in flags else 0


def _read(file: str) -> str | None:
    """The action text, or ``None`` where the full command has something to say."""
    try:
        if file == "-":
            if sys.stdin.isatty():
                return None
            return sys.stdin.read()
        with open(file, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None

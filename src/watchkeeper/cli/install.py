"""``watchkeeper install claude-code``: the hook into Claude Code's settings, and out again."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli.shared import fail, out

install_app = typer.Typer(help="Put watchkeeper in front of an agent.", no_args_is_help=True)


@install_app.command("claude-code")
def claude_code(
    user: Annotated[
        bool, typer.Option("--user", help="~/.claude/settings.json instead of the project's.")
    ] = False,
    project: Annotated[
        bool, typer.Option("--project", help="./.claude/settings.json (the default).")
    ] = False,
    server: Annotated[
        str | None, typer.Option(help="Decide on this watchkeeper server (else embedded).")
    ] = None,
    environment: Annotated[
        str | None, typer.Option(help="The environment this machine is (else the inventory's).")
    ] = None,
    orders: Annotated[
        Path | None, typer.Option(help="Embedded: these standing orders (else the built-in).")
    ] = None,
    wait: Annotated[
        float, typer.Option(help="Server mode: seconds to wait for an approval before parking.")
    ] = 0.0,
    uninstall: Annotated[bool, typer.Option(help="Take out what install put in.")] = False,
) -> None:
    """Merge watchkeeper's PreToolUse and PostToolUse hooks into Claude Code's settings."""
    from watchkeeper.doors.install import hook_commands, merged, removed

    if user and project:
        fail("give --user or --project, not both")
    if not 0 <= wait <= 600:
        fail(f"--wait {wait:g}: give seconds from 0 to 600")
    from watchkeeper import strict_json
    from watchkeeper.analyzers.paths import path_flags
    from watchkeeper.errors import InvalidJSON

    # A link is followed: the file it names is the one Claude Code reads.
    path = ((Path.home() if user else Path.cwd()) / ".claude" / "settings.json").resolve()
    if orders is not None and "guard_tamper" not in path_flags(str(orders.resolve())):
        fail(f"--orders {orders}: the agent could change orders kept there. Name the file "
             "watchkeeper.yaml (or watchkeeper-*.yaml), or keep it in ~/.watchkeeper/, where "
             "every change by an agent is refused")  # fmt: skip
    try:
        raw = path.read_bytes() if path.exists() else b"{}"
        current = strict_json.loads_object(raw, what=str(path))
    except (OSError, ValueError, InvalidJSON) as exc:  # NaN, twice a key, no object
        fail(f"{path}: cannot read it as JSON ({exc}); it was left as it is")
    if uninstall:
        wanted = removed(current)
    else:
        options = [*(["--server", server] if server else []),
                   *(["--environment", environment] if environment else []),
                   *(["--orders", str(orders.resolve())] if orders else []),
                   *(["--wait", f"{wait:g}"] if wait else [])]  # fmt: skip
        budget = max(25.0, wait + 10)
        beside = Path(sys.executable).with_name("watchkeeper")  # this installation's own
        exe = str(beside) if beside.exists() else shutil.which("watchkeeper") or "watchkeeper"
        try:
            wanted = merged(current, hook_commands(exe, options, budget), int(budget) + 5)
        except ValueError as exc:
            fail(f"{path}: {exc}; it was left as it is")
    if wanted == current:
        out.print(f"{path}: already as wanted; nothing changed")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(wanted, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        shutil.copymode(path, temporary)  # a 0600 file (it may hold tokens) stays 0600
    os.replace(temporary, path)
    done = "removed from" if uninstall else "installed in"
    out.print(f"watchkeeper's hook {done} {path}" + (" (the old file: settings.json.bak)"
              if path.with_name(path.name + ".bak").exists() else ""))  # fmt: skip
    if server and not uninstall:
        out.print("Give the hook the agent's key as WATCHKEEPER_TOKEN in Claude Code's "
                  "environment (not in a settings file others can read).")  # fmt: skip

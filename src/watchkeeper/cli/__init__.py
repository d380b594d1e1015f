"""The ``watchkeeper`` command.

:func:`main` is the console script. The commands that sit in front of every tool call an agent
makes start as fast as Python itself: ``--version``, ``hook``, ``sh``, ``exec`` and ``check
--json`` (:mod:`watchkeeper.doors.quick`) are answered here with the standard library (and, for a
door that decides in process with no warm decider to ask, the analyzers), before Typer, Rich or
anything else of the full command line (:mod:`watchkeeper.cli.application`) is imported. A test
keeps the heavy modules out of these paths.
"""

from __future__ import annotations

import sys

from watchkeeper._version import __version__

TYPE_CHECKING = False  # not typing's: see watchkeeper/__init__.py
if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args == ["--version"]:
        sys.stdout.write(f"watchkeeper {__version__}\n")
        return
    if args[:1] == ["hook"]:
        from watchkeeper.doors.hook import main as hook

        sys.exit(hook(args[1:]))
    if args[:1] in (["sh"], ["exec"]) and args[1:2] not in (["--help"], ["-h"]):
        from watchkeeper.doors.shell import main as shell

        sys.exit(shell(args[0], args[1:]))
    if args[:1] == ["check"]:
        from watchkeeper.doors.quick import check

        code = check(args[1:])
        if code is not None:
            sys.exit(code)
    from watchkeeper.cli.application import run

    run()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the Typer application, for tests and embedding
        from watchkeeper.cli.application import app

        return app
    raise AttributeError(f"module 'watchkeeper.cli' has no attribute {name!r}")

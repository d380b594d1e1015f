"""``watchkeeper sh -c COMMAND`` and ``watchkeeper exec -- PROGRAM ARGS…``: a shell that asks
first.

Agents that let you choose their shell (Codex CLI, Aider, OpenHands, Goose, CI runners) are put
behind watchkeeper by pointing them at ``watchkeeper sh``. Once the command is allowed it runs
as ``sh -c`` would run it (the same options, arguments, standard streams, exit status and
signals); a refused or held command never starts: the reason goes to stderr and the exit status
is 126. ``exec`` does the same for one program, without a shell::

    watchkeeper sh -c 'pytest -q'              # runs; its exit status is pytest's
    watchkeeper sh -c 'rm -rf ~/.ssh'          # never starts: stderr says why, exit 126
    watchkeeper exec -- terraform plan         # one program, its arguments as given

Configured by the environment, since the command line is the shell's: ``WATCHKEEPER_ORDERS``,
``WATCHKEEPER_ENVIRONMENT``, ``WATCHKEEPER_SERVER`` and ``WATCHKEEPER_TOKEN`` (server mode),
``WATCHKEEPER_WAIT`` (seconds to wait for an approval, default 300), ``WATCHKEEPER_SESSION``
and ``WATCHKEEPER_SHELL`` (the shell that runs allowed commands, default ``/bin/sh``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from watchkeeper.doors import gate

TYPE_CHECKING = False  # not typing's: the doors start as fast as Python does
if TYPE_CHECKING:
    from typing import Any

#: The exit status of a command that was not run: refused, held, or not understood.
NOT_RUN = 126
#: Single-letter shell options an agent's runner may give beside ``-c`` (``bash -lc``): only
#: those that change nothing of what runs. Not ``-k`` (bash then takes NAME=value words from
#: anywhere on the line into the environment: `git status GIT_CONFIG_COUNT=1 …` runs a hook).
_SHELL_LETTERS = frozenset("elux v".replace(" ", ""))
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Refusal(Exception):
    """The command is not run; the message says why."""


def _shell_call(argv: list[str]) -> tuple[list[str], str, list[str]]:
    """The options before ``-c``, the command, and ``$0 $1…`` after it."""
    options: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "-c" or (
            arg.startswith("-") and "c" in arg[1:] and set(arg[1:]) <= _SHELL_LETTERS | {"c"}
        ):
            if i + 1 >= len(argv):
                raise Refusal("-c needs a command")
            flags = arg.replace("c", "") if arg != "-c" else ""
            return (
                [*options, *([flags] if flags not in ("", "-") else [])],
                argv[i + 1],
                argv[i + 2 :],
            )
        if arg.startswith(("-", "+")) and set(arg[1:]) <= _SHELL_LETTERS:
            options.append(arg)
            continue
        if arg.startswith(("-", "+")):
            raise Refusal(f"shell option {arg!r}: watchkeeper sh takes only -c and -e, -l, -u, "
                          "-v, -x beside it")  # fmt: skip
        break
    raise Refusal("watchkeeper sh runs commands given with -c only (not scripts or sessions)")


def main(door: str, argv: list[str]) -> int:
    """Decide, then run or refuse; the exit status is the command's, or 126 when not run."""
    try:
        if door == "sh":
            options, command, rest = _shell_call(argv)
            shell = os.environ.get("WATCHKEEPER_SHELL") or "/bin/sh"
            run = [shell, *options, "-c", command, *rest]
            import shlex

            # `$0` and the arguments after the command are part of what runs: the decision
            # (and so an approval's digest) covers them, never the text alone.
            text = shlex.join(["sh", "-c", command, *rest]) if rest else command
        else:
            args = argv[1:] if argv[:1] == ["--"] else argv
            if not args:
                raise Refusal("usage: watchkeeper exec -- PROGRAM [ARGS…]")
            import shlex

            run, text = args, shlex.join(args)
        verdict, action = _decide(text)
    except Exception as exc:
        sys.stderr.write(f"watchkeeper: not run: {exc}\n")
        return NOT_RUN
    if verdict.decision != "allow":
        sys.stderr.write(f"watchkeeper: not run: {verdict.message}\n")
        return NOT_RUN
    return _run(run, action, verdict)


def _decide(text: str) -> tuple[gate.Verdict, dict[str, Any]]:
    action: dict[str, Any] = {"tool": "shell", "input": {"command": text, "cwd": os.getcwd()}}
    session = os.environ.get("WATCHKEEPER_SESSION")
    if session:
        action["session"] = session
    environment = os.environ.get("WATCHKEEPER_ENVIRONMENT")
    if environment:
        action["environment"] = environment
    try:
        wait = float(os.environ.get("WATCHKEEPER_WAIT") or 300)
    except ValueError:
        raise Refusal(
            f"WATCHKEEPER_WAIT={os.environ['WATCHKEEPER_WAIT']!r}: give seconds"
        ) from None
    verdict = gate.decide(action, door="shell", session=session or "shell", orders=None,
                          server=gate.server_of(None), wait=wait, budget=wait + 30)  # fmt: skip
    if verdict.decision == "ask":  # nobody at a terminal here to ask
        verdict = gate.Verdict("deny", verdict.message + " Nobody is here to approve it.")
    return verdict, action


def _run(argv: list[str], action: dict[str, Any], verdict: gate.Verdict) -> int:
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        sys.stderr.write(f"watchkeeper: {argv[0]}: {exc.strerror}\n")
        return 127
    for number in _FORWARDED:  # the command's signals are its own: pass them on
        signal.signal(number, lambda n, _f: child.send_signal(n))
    status = child.wait()
    server = gate.server_of(None)
    if server and verdict.action_id is not None:
        try:
            gate.report(server, "shell", os.environ.get("WATCHKEEPER_SESSION") or "shell",
                        action, "succeeded" if status == 0 else "failed", 30)  # fmt: skip
        except Exception as exc:
            sys.stderr.write(f"watchkeeper: the outcome was not recorded: {exc}\n")
    if status < 0:  # killed by a signal: die of the same one, as a shell would show
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        return 128 - status
    return status

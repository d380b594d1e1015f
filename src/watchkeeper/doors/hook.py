"""``watchkeeper hook claude-code``: the command Claude Code runs before and after each tool.

    watchkeeper hook claude-code [--orders PATH] [--environment ENV] [--budget SECONDS]
    watchkeeper hook claude-code --server URL [--wait SECONDS] [--budget SECONDS]

Embedded (no server): the decision is made in this process from the orders (``--orders``,
else ``WATCHKEEPER_ORDERS``, else the built-in ones; never a file in the agent's working
directory, which the agent can write). Server mode (``--server`` or ``WATCHKEEPER_SERVER`` /
``WATCHKEEPER_URL``, with the agent's key in ``WATCHKEEPER_TOKEN`` / ``WATCHKEEPER_API_KEY``):
the server decides and records, through a client of the standard library only.

It never fails open. Claude Code runs the tool when a command hook crashes, exits with an
unexpected status or runs past its timeout, so every error here becomes a ``deny`` answer
with exit status 0, and the answer is worked out in a child process that is killed once
``--budget`` seconds have passed, the answer then being ``deny`` (set the budget below the
timeout in the hook's settings; ``install`` does).
"""

from __future__ import annotations

import json
import os
import sys

from watchkeeper.doors import claude_code, gate
from watchkeeper.doors.claude_code import EventError

#: The most of stdin read: a larger event is refused, not read without end.
MAX_EVENT = 8 * 1024 * 1024
USAGE = (
    "usage: watchkeeper hook claude-code [--orders PATH] [--db URL] [--environment ENV] "
    "[--server URL] [--wait SECONDS] [--budget SECONDS]"
)
DOOR = "claude-code"
_OPTIONS = {"--db", "--orders", "--environment", "--server", "--wait", "--budget"}


class _Answer:
    """Exactly one answer is written, whoever comes first: the work or the budget's timer."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.given = False

    def give(self, text: str) -> bool:
        with self.lock:
            if self.given:
                return False
            self.given = True
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            return True


def _options(argv: list[str]) -> dict[str, str]:
    if argv[:1] != ["claude-code"]:
        raise EventError(f"unknown hook {argv[:1]!r}: the hooks are: claude-code. {USAGE}")
    found: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        key = rest.pop(0)
        name, eq, value = key.partition("=")
        if name not in _OPTIONS:
            raise EventError(f"unknown option {key!r}. {USAGE}")
        if not eq:
            if not rest:
                raise EventError(f"{name} needs a value. {USAGE}")
            value = rest.pop(0)
        found[name[2:]] = value
    for key in ("wait", "budget"):
        if key in found:
            try:
                seconds = float(found[key])
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= 3600:
                raise EventError(f"--{key} {found[key]!r}: give seconds, from 0 to 3600")
    return found


def main(argv: list[str]) -> int:
    """Run the hook; the answer is on stdout and the exit status is 0, whatever happens."""
    if argv in (["--help"], ["-h"], ["claude-code", "--help"], ["claude-code", "-h"]):
        sys.stdout.write(f"{USAGE}\n\n{__doc__}")
        return 0
    try:
        options = _options(argv)
        budget = float(options.get("budget", "25"))
    except EventError as exc:
        _write(claude_code.deny(str(exc)))
        return 0
    if hasattr(os, "fork"):
        _write(_forked(options, budget))
        return 0
    return _threaded(options, budget, _Answer())


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _forked(options: dict[str, str], budget: float) -> str:
    """The answer, worked out in a child process that is killed once the budget is spent.

    A thread cannot stop work that holds the interpreter (a regular expression matching for
    minutes, a read that never ends): a process can be killed whatever it is doing."""
    import select
    import signal
    import time

    deadline = time.monotonic() + budget
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child: measured by the tests from outside
        os.close(read_end)
        try:
            text = _respond(options, sys.stdin.buffer.read(MAX_EVENT + 1), budget)
        except BaseException as exc:
            text = claude_code.deny(f"{type(exc).__name__}: {exc}")
        data = memoryview(text.encode())
        while data:
            data = data[os.write(write_end, data) :]
        os._exit(0)
    os.close(write_end)
    chunks: list[bytes] = []
    finished = False
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([read_end], [], [], left)[0]:
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if not finished:
            os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
    if not finished:
        return claude_code.deny(f"no decision within the hook's budget of {budget:g} s")
    text = b"".join(chunks).decode("utf-8", "replace")
    try:
        complete = status == 0 and isinstance(json.loads(text), dict)
    except ValueError:
        complete = False
    if not complete:  # the child died on the way (killed, out of memory): never half an answer
        return claude_code.deny(f"the decision did not complete (status {status})")
    return text


def _threaded(options: dict[str, str], budget: float, answer: _Answer) -> int:
    """Where there is no fork: a timer answers ``deny`` once the budget is spent."""
    import threading

    def out_of_time() -> None:
        if answer.give(claude_code.deny(f"no decision within the hook's budget of {budget:g} s")):
            os._exit(0)  # the work may be stuck in a call: leave without waiting for it

    timer = threading.Timer(budget, out_of_time)
    timer.daemon = True
    timer.start()
    try:
        text = _respond(options, sys.stdin.buffer.read(MAX_EVENT + 1), budget)
    except Exception as exc:
        text = claude_code.deny(f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
    answer.give(text)
    return 0


def _respond(options: dict[str, str], raw: bytes, budget: float) -> str:
    if len(raw) > MAX_EVENT:
        raise EventError(f"the hook event is larger than {MAX_EVENT} bytes")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise EventError(f"the hook event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise EventError("the hook event is not a JSON object")
    kind = event.get("hook_event_name", "PreToolUse")
    environment = options.get("environment") or os.environ.get("WATCHKEEPER_ENVIRONMENT")
    action = claude_code.action_of(event, environment)
    server = gate.server_of(options.get("server"))
    session = event.get("session_id")
    if kind == "PostToolUse":
        if server:
            gate.report(server, DOOR, session, action, _status(event.get("tool_response")), budget)
        return "{}"
    if kind != "PreToolUse":
        raise EventError(f"hook_event_name {kind!r}: this hook reads PreToolUse and PostToolUse")
    wait = float(options.get("wait", "0"))
    verdict = gate.decide(
        action, door=DOOR, session=session, orders=options.get("orders"), server=server,
        wait=wait, budget=budget, db=options.get("db"),
    )  # fmt: skip
    return json.dumps(claude_code.answer(verdict.decision, verdict.message))


def _status(response: object) -> str:
    """``failed`` when the tool said it failed (an error, an interruption, a non-zero exit)."""
    failed = isinstance(response, dict) and (
        response.get("is_error")
        or response.get("interrupted")
        or response.get("exit_code") not in (0, None)
    )
    return "failed" if failed else "succeeded"

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

import _signal  # type: ignore[import-not-found]  # signal's built-in half: no enum to import
import os
import sys

TYPE_CHECKING = False  # not typing's: the hook starts as fast as Python does
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

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
        raise ValueError(f"unknown hook {argv[:1]!r}: the hooks are: claude-code. {USAGE}")
    found: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        key = rest.pop(0)
        name, eq, value = key.partition("=")
        if name not in _OPTIONS:
            raise ValueError(f"unknown option {key!r}. {USAGE}")
        if not eq:
            if not rest:
                raise ValueError(f"{name} needs a value. {USAGE}")
            value = rest.pop(0)
        found[name[2:]] = value
    for key in ("wait", "budget"):
        if key in found:
            try:
                seconds = float(found[key])
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= 3600:
                raise ValueError(f"--{key} {found[key]!r}: give seconds, from 0 to 3600")
    return found


def main(argv: list[str]) -> int:
    """Run the hook; the answer is on stdout and the exit status is 0, whatever happens."""
    if argv in (["--help"], ["-h"], ["claude-code", "--help"], ["claude-code", "-h"]):
        sys.stdout.write(f"{USAGE}\n\n{__doc__}")
        return 0
    try:
        options = _options(argv)
        budget = float(options.get("budget", "25"))
    except ValueError as exc:
        _write(_deny(str(exc)))
        return 0
    raw = None
    from watchkeeper.doors import warm

    if warm.enabled():  # a warm decider runs this hook's own code, already loaded
        import time

        started = time.monotonic()
        with _Within(budget):  # reading the event and the decider's answer, together
            try:
                raw = sys.stdin.buffer.read(MAX_EVENT + 1)
                reply = warm.call(
                    "hook", _shared(options), raw, timeout=budget,
                    orders=options.get("orders") or os.environ.get("WATCHKEEPER_ORDERS"),
                    db=options.get("db") or os.environ.get("WATCHKEEPER_DB"),
                )  # fmt: skip
            except TimeoutError:
                spent = f"no decision within the hook's budget of {budget:g} s"
                reply = ("", _deny(spent).encode())
            except Exception:  # the hook then works in its own process
                reply = None
        if reply is not None:
            _write(reply[1].decode())
            return 0
        budget = max(0.0, budget - (time.monotonic() - started))
    if hasattr(os, "fork"):
        _write(_forked(options, budget, raw))
        return 0
    return _threaded(options, budget, _Answer(), raw)


def _shared(options: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The options as the decider needs them: with what this process knows and it does not
    (the environment the call claims, where a relative transcript path starts)."""
    given = dict(options)
    environment = options.get("environment") or os.environ.get("WATCHKEEPER_ENVIRONMENT")
    if environment:
        given["environment"] = environment
    given["cwd"] = os.getcwd()
    return tuple(given.items())


class _Within:
    """``deny`` and exit once ``budget`` seconds pass inside the block, whatever the block is
    blocked on (stdin that never ends, a decider that never answers)."""

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __enter__(self) -> None:
        if hasattr(_signal, "setitimer"):
            budget = self.budget

            def out_of_time(signum: int, frame: object) -> None:
                from watchkeeper.doors import warm

                warm.stop_asked()  # it did not answer in time: the next call starts another
                _write(_deny(f"no decision within the hook's budget of {budget:g} s"))
                os._exit(0)

            _signal.signal(_signal.SIGALRM, out_of_time)
            _signal.setitimer(_signal.ITIMER_REAL, max(budget, 0.001))

    def __exit__(self, *exc: object) -> None:
        if hasattr(_signal, "setitimer"):
            _signal.setitimer(_signal.ITIMER_REAL, 0)


def _cold(options: dict[str, str], raw: bytes | None) -> str:
    """The answer worked out in this process; a warm decider already tried (``raw`` read) is
    not asked again."""
    decider = None
    if raw is not None:
        from watchkeeper.doors import gate

        orders = options.get("orders") or os.environ.get("WATCHKEEPER_ORDERS")
        db = options.get("db") or os.environ.get("WATCHKEEPER_DB")

        def decider(text: str) -> dict[str, Any]:
            return gate.in_process(text, orders, db)

    return respond(options, _event(raw), decider)


def _deny(reason: str) -> str:
    from watchkeeper.doors import claude_code

    return claude_code.deny(reason)


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _forked(options: dict[str, str], budget: float, raw: bytes | None) -> str:
    """The answer, worked out in a child process that is killed once the budget is spent.

    A thread cannot stop work that holds the interpreter (a regular expression matching for
    minutes, a read that never ends): a process can be killed whatever it is doing."""
    import json
    import select
    import signal
    import time

    deadline = time.monotonic() + budget
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child: measured by the tests from outside
        os.close(read_end)
        try:
            text = _cold(options, raw)
        except BaseException as exc:
            text = _deny(f"{type(exc).__name__}: {exc}")
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
        return _deny(f"no decision within the hook's budget of {budget:g} s")
    text = b"".join(chunks).decode("utf-8", "replace")
    try:
        complete = status == 0 and isinstance(json.loads(text), dict)
    except ValueError:
        complete = False
    if not complete:  # the child died on the way (killed, out of memory): never half an answer
        return _deny(f"the decision did not complete (status {status})")
    return text


def _threaded(options: dict[str, str], budget: float, answer: _Answer, raw: bytes | None) -> int:
    """Where there is no fork: a timer answers ``deny`` once the budget is spent."""
    import threading

    def out_of_time() -> None:
        if answer.give(_deny(f"no decision within the hook's budget of {budget:g} s")):
            os._exit(0)  # the work may be stuck in a call: leave without waiting for it

    timer = threading.Timer(budget, out_of_time)
    timer.daemon = True
    timer.start()
    try:
        text = _cold(options, raw)
    except Exception as exc:
        text = _deny(f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
    answer.give(text)
    return 0


def _event(raw: bytes | None) -> bytes:
    """The event: read already, or from stdin now."""
    return sys.stdin.buffer.read(MAX_EVENT + 1) if raw is None else raw


def respond(
    options: dict[str, str],
    raw: bytes,
    decider: Callable[[str], dict[str, Any]] | None = None,
) -> str:
    """The answer to the event ``raw``, as the hook prints it; raise on anything wrong.

    ``decider`` decides in process instead of loading the orders (a warm decider's own)."""
    import json

    from watchkeeper.doors import claude_code, gate
    from watchkeeper.doors.claude_code import EventError

    budget = float(options.get("budget", "25"))
    if len(raw) > MAX_EVENT:
        raise EventError(f"the hook event is larger than {MAX_EVENT} bytes")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise EventError(f"the hook event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise EventError("the hook event is not a JSON object")
    transcript, cwd = event.get("transcript_path"), options.get("cwd")
    if isinstance(transcript, str) and transcript and cwd:  # as the door's process would open it
        event["transcript_path"] = os.path.join(cwd, transcript)
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
        wait=wait, budget=budget, db=options.get("db"), decider=decider,
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

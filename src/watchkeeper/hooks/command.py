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
with exit status 0, and a timer answers ``deny`` once ``--budget`` seconds have passed (set it
below the timeout in the hook's settings; ``install`` does).
"""

from __future__ import annotations

import json
import os
import sys
import threading

from watchkeeper.hooks import claude_code
from watchkeeper.hooks.claude_code import EventError

TYPE_CHECKING = False  # not typing's: the hook starts as fast as Python does
if TYPE_CHECKING:
    from typing import Any

#: The most of stdin read: a larger event is refused, not read without end.
MAX_EVENT = 8 * 1024 * 1024
USAGE = (
    "usage: watchkeeper hook claude-code [--orders PATH] [--environment ENV] "
    "[--server URL] [--wait SECONDS] [--budget SECONDS]"
)
_OPTIONS = {"--orders", "--environment", "--server", "--wait", "--budget"}


class _Answer:
    """Exactly one answer is written, whoever comes first: the work or the budget's timer."""

    def __init__(self) -> None:
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
    answer = _Answer()
    if argv in (["--help"], ["-h"], ["claude-code", "--help"], ["claude-code", "-h"]):
        sys.stdout.write(f"{USAGE}\n\n{__doc__}")
        return 0
    try:
        options = _options(argv)
        budget = float(options.get("budget", "25"))
    except EventError as exc:
        answer.give(claude_code.deny(str(exc)))
        return 0

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
    server = options.get("server") or _env("WATCHKEEPER_SERVER", "WATCHKEEPER_URL")
    if kind == "PostToolUse":
        if server:
            _report(server, event, action, budget)
        return "{}"
    if kind != "PreToolUse":
        raise EventError(f"hook_event_name {kind!r}: this hook reads PreToolUse and PostToolUse")
    if server:
        return json.dumps(_served(server, action, event, options, budget))
    return json.dumps(_embedded(options, action))


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


# -- embedded --------------------------------------------------------------------------------


def _embedded(options: dict[str, str], action: dict[str, Any]) -> dict[str, Any]:
    from watchkeeper.gateway import Gateway
    from watchkeeper.orders.loader import builtin, load

    path = options.get("orders") or os.environ.get("WATCHKEEPER_ORDERS")
    decision = Gateway(load(path) if path else builtin()).decide(action).to_json()
    return _answer_of(decision, server=False)


def _needs_people(decision: dict[str, Any]) -> list[str]:
    """Who the decision's approvals name (a group, people or a quorum), if anyone."""
    named = []
    for need in decision.get("approvals") or ():
        who = need.get("group") or ", ".join(need.get("users") or ())
        quorum = need.get("quorum") or 1
        if who or quorum > 1:
            named.append(f"{quorum} of {who or 'the approvers'} (rule {need.get('rule')})")
    return named


def message(decision: dict[str, Any]) -> str:
    """One plain paragraph for the model: what was decided, why, and what to do instead."""
    kind = decision.get("decision")
    rules = ", ".join(decision.get("rules") or ()) or "no rule"
    reasons = " ".join(str(r) for r in (decision.get("reasons") or ())[:3])
    said = " ".join(str(i) for i in decision.get("instructions") or ())
    if kind == "allow":
        return f"Allowed by watchkeeper ({rules})."
    head = "Refused" if kind == "deny" else "Held for a person's approval"
    text = f"{head} by watchkeeper ({rules}): {reasons}"
    if said:
        text += f" Instructions: {said}"
    if kind == "deny":
        text += " Do not try the same thing another way; tell the user what was refused and why."
    return text


def _answer_of(decision: dict[str, Any], *, server: bool) -> dict[str, Any]:
    kind = decision.get("decision")
    if kind == "allow":
        return claude_code.answer("allow", message(decision))
    if kind == "ask":
        named = _needs_people(decision)
        if not named:  # anyone may approve: the person at the terminal is asked
            return claude_code.answer("ask", message(decision))
        if not server:
            return claude_code.answer(
                "deny",
                f"{message(decision)} It needs approval by {'; '.join(named)}, which the person "
                "at this terminal cannot give: it can only run through a watchkeeper server.",
            )
    if kind not in ("allow", "ask", "deny"):
        raise EventError(f"a decision of {kind!r}")
    return claude_code.answer("deny", message(decision))


# -- server ----------------------------------------------------------------------------------


def _served(
    server: str, action: dict[str, Any], event: dict[str, Any], options: dict[str, str],
    budget: float,
) -> dict[str, Any]:  # fmt: skip
    from watchkeeper.hooks.client import Client

    client = Client(server, _env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY"), timeout=budget)
    wait = min(float(options.get("wait", "0")), max(0.0, budget - 2))
    parked = Parked(event.get("session_id"), action)
    earlier = parked.get()
    if earlier is not None:  # the same call, held before: resume it if it was approved
        resumed = _resume(client, earlier, parked)
        if resumed is not None:
            return resumed
    decision = client.post("/v1/actions", action)
    if decision.get("decision") == "allow" and isinstance(decision.get("action_id"), int):
        parked.ran(decision["action_id"])
    if decision.get("decision") != "ask" or not decision.get("approval_id"):
        return _answer_of(decision, server=True)
    if not _needs_people(decision):
        return _answer_of(decision, server=True)
    held = {"approval_id": decision["approval_id"], "digest": decision.get("digest"),
            "action_id": decision.get("action_id"), "message": message(decision)}  # fmt: skip
    if wait > 0:
        state = client.get(f"/v1/approvals/{held['approval_id']}?wait={wait:g}")
        done = _settled(client, held, state, parked)
        if done is not None:
            return done
    parked.put(held)
    return claude_code.answer(
        "deny",
        f"{held['message']} Held for approval {held['approval_id']}: run the same command "
        "again once it is approved.",
    )


def _resume(client: Any, held: dict[str, Any], parked: Parked) -> dict[str, Any] | None:
    state = client.get(f"/v1/approvals/{held['approval_id']}")
    done = _settled(client, held, state, parked)
    if done is not None or state.get("state") in ("expired", "cancelled"):
        parked.drop()
    if state.get("state") == "pending":
        return claude_code.answer(
            "deny", f"Still held for approval {held['approval_id']}: nobody has decided yet. "
            "Run the same command again once it is approved, or do something else meanwhile.",
        )  # fmt: skip
    return done


def _settled(
    client: Any, held: dict[str, Any], state: dict[str, Any], parked: Parked
) -> dict[str, Any] | None:
    """The answer once the approval is decided: approved consumes the grant."""
    if state.get("state") == "approved":
        grant = client.post(
            f"/v1/approvals/{held['approval_id']}/consume", {"digest": held["digest"]}
        )
        if isinstance(grant.get("action_id"), int):
            parked.ran(grant["action_id"])
        return claude_code.answer("allow", f"Approved (approval {held['approval_id']}).")
    if state.get("state") == "denied":
        comments = "; ".join(
            f"{v.get('voter', 'someone')}: {v.get('comment')}"
            for v in state.get("votes") or () if isinstance(v, dict) and v.get("comment")
        )  # fmt: skip
        said = f" They said: {comments}." if comments else ""
        return claude_code.answer(
            "deny", f"Denied by a person (approval {held['approval_id']}).{said} Do not retry "
            "it another way; follow what they said or ask the user.",
        )  # fmt: skip
    return None


def _report(server: str, event: dict[str, Any], action: dict[str, Any], budget: float) -> None:
    """PostToolUse: the outcome of the call, against the action recorded for it."""
    from watchkeeper.hooks.client import Client

    done = Parked(event.get("session_id"), action).last()
    if done is None:
        return
    response = event.get("tool_response")
    failed = isinstance(response, dict) and (
        response.get("is_error")
        or response.get("interrupted")
        or response.get("exit_code") not in (0, None)
    )
    client = Client(server, _env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY"), timeout=budget)
    client.post(f"/v1/actions/{done}/outcome", {"status": "failed" if failed else "succeeded"})


class Parked:
    """Calls held for approval, by session and call, kept between runs of the hook in
    ``$XDG_STATE_HOME/watchkeeper/claude-code/`` (one file per session)."""

    def __init__(self, session: object, action: dict[str, Any]) -> None:
        base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        # The session's own id names its file when it is a plain name (Claude Code's are
        # UUIDs); any other is spelled in hex. No hash: hashlib alone would add a tenth to the
        # hook's start-up.
        name = str(session)
        if not (0 < len(name) <= 100 and name.replace("-", "").replace("_", "").isalnum()
                and name.isascii()):  # fmt: skip
            name = "x" + name.encode()[:60].hex()
        self.path = os.path.join(base, "watchkeeper", "claude-code", f"{name}.json")
        #: The call itself (not what the user last asked, which changes), as canonical JSON.
        self.call = json.dumps(
            {k: v for k, v in action.items() if k != "intent"}, sort_keys=True,
            separators=(",", ":"),
        )  # fmt: skip

    def _all(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as f:
                found = json.load(f)
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    #: The most calls remembered per session; the oldest go first.
    KEEP = 200

    def _save(self, table: dict[str, Any]) -> None:
        if len(table) > self.KEEP:
            table = dict(list(table.items())[-self.KEEP :])
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(table, f)
        os.replace(temporary, self.path)

    def get(self) -> dict[str, Any] | None:
        found = self._all().get(self.call)
        return found if isinstance(found, dict) and "approval_id" in found else None

    def put(self, held: dict[str, Any]) -> None:
        self._save({**self._all(), self.call: held})

    def drop(self) -> None:
        table = self._all()
        if table.pop(self.call, None) is not None:
            self._save(table)

    def ran(self, action_id: int) -> None:
        """Remember the action id of a call that was let through, for its outcome."""
        self._save({**self._all(), f"ran:{self.call}": action_id})

    def last(self) -> int | None:
        """The action id recorded for this call, for its outcome."""
        found = self._all().get(f"ran:{self.call}")
        return found if isinstance(found, int) else None

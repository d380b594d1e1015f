"""What every door shares: decide an action in process or on a server, wait for an approval,
park a held call and resume it, and say the outcome in one paragraph for the model.

    verdict = gate.decide(action, door="claude-code", session="s-1", orders=None,
                          server=None, wait=0, budget=25)
    verdict.decision    # 'allow' | 'ask' | 'deny': 'ask' only when anyone may approve
    verdict.message     # what was decided, why, and what to do instead

A rule that needs named people or a quorum is never satisfied by whoever runs the door: in
process it is a ``deny`` saying so; on a server the door opens the approval, waits up to
``wait`` seconds, and otherwise parks the call (``deny``, "held for approval ID"); the same
call later takes the grant once it is approved.
"""

from __future__ import annotations

import contextlib
import json
import os

from watchkeeper import answer

TYPE_CHECKING = False  # not typing's: the doors start as fast as Python does
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Verdict:
    """A door's answer: ``allow``, ``ask`` or ``deny``, the message, and the recorded action."""

    __slots__ = ("action_id", "decision", "message")

    def __init__(self, decision: str, message: str, action_id: int | None = None) -> None:
        if decision not in ("allow", "ask", "deny"):
            raise ValueError(f"a decision of {decision!r}")
        self.decision = decision
        self.message = message
        self.action_id = action_id


def env(*names: str) -> str | None:
    """The first of these environment variables that is set and not empty."""
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def unable(reason: str) -> str:
    """What every door tells the model when it could not decide (and so refused)."""
    return f"watchkeeper could not decide, so the call is refused: {reason}"


def server_of(given: str | None) -> str | None:
    """The server a door asks: given on its command line, else from the environment."""
    return given or env("WATCHKEEPER_SERVER", "WATCHKEEPER_URL")


def decide(
    action: dict[str, Any], *, door: str, session: object, orders: str | None,
    server: str | None, wait: float, budget: float, held: str = "deny", db: str | None = None,
    decider: Callable[[str], dict[str, Any]] | None = None, remember: bool = True,
) -> Verdict:  # fmt: skip
    """The verdict on ``action``: on ``server`` when one is given, else in this process (by
    ``decider`` when given: a warm decider's own service).

    ``remember``: note on disk the recorded action of a call let through, for an outcome
    reported by a later run (the hook's ``PostToolUse``); a door that keeps the verdict in
    memory until the call ends needs no note.

    ``held`` is the answer for an action that waits for named people: ``deny`` for doors
    whose caller would otherwise go ahead (a hook, a shell), ``ask`` for those that report
    it (``terraform check`` exits 10)."""
    if server:
        from watchkeeper.doors.client import Client

        client = Client(server, env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY"), timeout=budget + 5)
        parked = Parked(door, session, action, remember=remember)
        return _served(client, action, parked, min(wait, max(0.0, budget - 2)), held)
    if decider is not None:
        return verdict_of(decider(json.dumps(action)), held)
    recorded = db or os.environ.get("WATCHKEEPER_DB")
    orders = orders or os.environ.get("WATCHKEEPER_ORDERS")
    return _embedded(action, orders, held, recorded, budget)


def probe(action: dict[str, Any], *, server: str, budget: float) -> dict[str, Any]:
    """The decision on ``action`` on ``server``: recorded, and an ``ask`` opens no approval
    (a door that looks before it prepares what people will read)."""
    from watchkeeper.doors.client import Client

    client = Client(server, env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY"), timeout=budget + 5)
    return client.post("/v1/actions?hold=false", action)


def report(server: str, door: str, session: object, action: dict[str, Any], status: str,
           budget: float) -> None:  # fmt: skip
    """The outcome of a call that was let through, against the action recorded for it."""
    done = Parked(door, session, action).last()
    if done is not None:
        outcome(server, done, status, budget)


def outcome(server: str, action_id: int, status: str, budget: float = 10) -> None:
    """Tell ``server`` how the recorded action ``action_id`` went (``succeeded``, ``failed``…)."""
    from watchkeeper.doors.client import Client

    client = Client(server, env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY"), timeout=budget + 5)
    client.post(f"/v1/actions/{action_id}/outcome", {"status": status})


def _embedded(
    action: dict[str, Any], orders: str | None, held: str, db: str | None, budget: float
) -> Verdict:
    """In this process, or warm in a decider kept for the next calls (:mod:`.warm`); with
    ``db``, recorded in that database's audit log first and decided under the pauses in force
    there, as ``check --db`` does."""
    from watchkeeper.doors import warm

    text = json.dumps(action)
    try:
        reply = warm.call("decide", (), text.encode(), orders=orders, db=db,
                          timeout=min(budget, warm.DECIDE_SECONDS))  # fmt: skip
    except TimeoutError:  # the decider was stopped; this call decides here
        reply = None
    decision = json.loads(reply[1]) if reply else in_process(text, orders, db)
    return verdict_of(decision, held)


def in_process(text: str, orders: str | None, db: str | None) -> dict[str, Any]:
    """The decision on the action ``text`` (JSON) made in this process, from the orders."""
    from watchkeeper.doors.decider import decide_text
    from watchkeeper.orders.loader import builtin, load
    from watchkeeper.service import Service

    loaded = load(orders) if orders else builtin()
    store = None
    if db:
        from watchkeeper.store.database import Store

        store = Store.open(db)
    try:
        service = Service.open(loaded, store)
        try:
            return decide_text(service, text).to_json()
        finally:
            service.close()
    finally:
        if store is not None:
            store.close()


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
    """One plain paragraph for the model (see :func:`watchkeeper.answer.sentence`)."""
    return answer.sentence(decision)


def verdict_of(decision: dict[str, Any], held: str) -> Verdict:
    """The verdict on a decision no approval was opened for (in process, or not needed)."""
    kind = decision.get("decision")
    action_id = decision.get("action_id") if isinstance(decision.get("action_id"), int) else None
    if kind == "ask":
        named = _needs_people(decision)
        if not named:  # anyone may approve: whoever is at the terminal is asked
            return Verdict("ask", message(decision), action_id)
        return Verdict(  # named people, and no approval to wait for: never whoever is here
            held,
            f"{message(decision)} It needs approval by {'; '.join(named)}: only they can give "
            "it, through a watchkeeper server (nobody running this command can).",
        )
    if not isinstance(kind, str) or kind not in ("allow", "deny", "ask"):
        raise ValueError(f"a decision of {kind!r}")
    return Verdict(kind, message(decision), action_id)


def _served(
    client: Any, action: dict[str, Any], parked: Parked, wait: float, held_as: str
) -> Verdict:
    """Ask the server. What is parked here is only a note of what this caller was told: the
    server decides every call afresh, joins the same call to its open approval, and checks
    the grant against the call being made, so a note that was tampered with can at most
    repeat a denial."""
    earlier = parked.get()
    if earlier is not None:
        state = client.get(f"/v1/approvals/{earlier['approval_id']}")
        if state.get("state") == "denied":  # told before: the same call is told again
            return _ended(state)
        if state.get("state") in ("expired", "cancelled"):  # told once; the next run asks anew
            parked.drop()
            return _ended(state)
    decision = client.post("/v1/actions", action)
    if decision.get("decision") == "allow" and isinstance(decision.get("action_id"), int):
        parked.ran(decision["action_id"])
    if decision.get("decision") != "ask" or not decision.get("approval_id"):
        return verdict_of(decision, held_as)
    if not _needs_people(decision):
        return verdict_of(decision, held_as)
    held = {"approval_id": decision["approval_id"], "digest": decision.get("digest"),
            "message": message(decision)}  # fmt: skip
    query = f"?wait={wait:g}" if wait > 0 else ""
    state = client.get(f"/v1/approvals/{held['approval_id']}{query}")
    if state.get("state") == "approved":  # the grant, for the call being made now
        grant = client.post(
            f"/v1/approvals/{held['approval_id']}/consume", {"digest": held["digest"]}
        )
        parked.drop()
        ran = grant.get("action_id") if isinstance(grant.get("action_id"), int) else None
        if ran is not None:
            parked.ran(ran)
        return Verdict("allow", f"Approved (approval {held['approval_id']}).", ran)
    if state.get("state") in ("expired", "cancelled"):  # while this call waited
        parked.drop()
        return _ended(state)
    parked.put(held)
    if state.get("state") == "denied":
        return _ended(state)
    again = earlier is not None and earlier.get("approval_id") == held["approval_id"]
    if again:
        return Verdict(
            held_as, f"Still held for approval {held['approval_id']}: nobody has decided yet. "
            "Run the same command again once it is approved, or do something else meanwhile.",
        )  # fmt: skip
    return Verdict(
        held_as,
        f"{held['message']} Held for approval {held['approval_id']}: run the same command "
        "again once it is approved.",
    )


def _ended(state: dict[str, Any]) -> Verdict:
    """An approval that ended without approving: what the server tells the agent, in its words
    (or, from a server that says nothing, the same sentence made here)."""
    told = state.get("answer")
    said = told.get("message") if isinstance(told, dict) else None
    return Verdict(
        "deny", said if isinstance(said, str) and said else answer.back(state)["message"]
    )


class Parked:
    """Calls held for approval, and calls let through, by door, session and call, kept between
    runs in ``$XDG_STATE_HOME/watchkeeper/DOOR/`` (one file per session)."""

    def __init__(
        self, door: str, session: object, action: dict[str, Any], remember: bool = True
    ) -> None:
        #: Whether :meth:`ran` notes anything (see :func:`decide`).
        self.remember = remember
        base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        # The session's own id names its file when it is a plain name (Claude Code's are
        # UUIDs); any other is spelled in hex. No hash: hashlib alone would add a tenth to the
        # hook's start-up.
        name = str(session)
        if not (0 < len(name) <= 100 and name.replace("-", "").replace("_", "").isalnum()
                and name.isascii()):  # fmt: skip
            name = "x" + name.encode()[:60].hex()
        self.path = os.path.join(base, "watchkeeper", door, f"{name}.json")
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

    def _change(self, change: Any) -> None:
        """Read, change and write the table under a lock: two runs at once lose nothing."""
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        with open(f"{self.path}.lock", "a") as lock:
            # No flock where there is no fcntl (Windows): the write below is still atomic.
            with contextlib.suppress(ImportError):
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
            table = self._all()
            change(table)
            if len(table) > self.KEEP:
                table = dict(list(table.items())[-self.KEEP :])
            temporary = f"{self.path}.{os.getpid()}"
            with open(temporary, "w", encoding="utf-8") as f:
                json.dump(table, f)
            os.replace(temporary, self.path)

    def get(self) -> dict[str, Any] | None:
        found = self._all().get(self.call)
        return found if isinstance(found, dict) and "approval_id" in found else None

    def put(self, held: dict[str, Any]) -> None:
        self._change(lambda table: table.update({self.call: held}))

    def drop(self) -> None:
        if self.call in self._all():
            self._change(lambda table: table.pop(self.call, None))

    def ran(self, action_id: int) -> None:
        """Remember the action id of a call that was let through, for its outcome."""
        if not self.remember:
            return
        self._change(lambda table: table.update({f"ran:{self.call}": action_id}))

    def last(self) -> int | None:
        """The action id recorded for this call, for its outcome."""
        found = self._all().get(f"ran:{self.call}")
        return found if isinstance(found, int) else None

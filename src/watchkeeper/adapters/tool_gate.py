"""One gate for tool calls made through an agent framework or an MCP client: the doors' own
decision path (:func:`watchkeeper.doors.gate.decide`), kept loaded, with the same answers.

    tools = ToolGate(door="langchain", orders="watchkeeper.yaml", agent="support-bot")
    tools = ToolGate(door="langchain", server="http://127.0.0.1:8600")   # WATCHKEEPER_TOKEN
    verdict = tools.decide(tools.action("refund", {"order": "A-1", "amount": 40}))
    verdict.decision, verdict.message    # 'allow' | 'ask' | 'deny', the answer for the model

In process, the orders are loaded once and again whenever their files change; on a server, a
call held for named people waits up to ``wait`` seconds for them (from any thread: the wait is
the server's long poll), and otherwise is refused as held. ``decide`` never raises: an error on
the way is a ``deny`` saying what it was, in the words every door uses.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from watchkeeper.doors import gate
from watchkeeper.doors.gate import Verdict

log = logging.getLogger("watchkeeper.tools")


class ToolGate:
    """Decides tool calls for one agent and session, in process or on a server."""

    def __init__(
        self, *, door: str, orders: str | Path | None = None, server: str | None = None,
        db: str | None = None, wait: float = 60.0, environment: str | None = None,
        agent: str | None = None, session: str | None = None,
    ) -> None:  # fmt: skip
        self.door = door
        self.server = gate.server_of(server)
        if self.server and orders:
            from watchkeeper.errors import UsageError

            raise UsageError(
                "give orders (decide in this process) or a server (decide there), not both"
            )
        self.wait = wait
        self.environment = environment or os.environ.get("WATCHKEEPER_ENVIRONMENT") or None
        self.agent = None if self.server else agent
        self.session = (
            session or os.environ.get("WATCHKEEPER_SESSION") or (f"{door}-{secrets.token_hex(6)}")
        )
        self.orders = str(orders) if orders else os.environ.get("WATCHKEEPER_ORDERS") or None
        self._warm: Any = None
        if not self.server:
            from watchkeeper.doors.decider import Warm

            self.loaded = self._load()  # refused now, every error listed, not on every call
            self._warm = Warm(self.orders, db or os.environ.get("WATCHKEEPER_DB") or None)

    def _load(self) -> Any:
        from watchkeeper.orders.loader import builtin, load

        return load(self.orders) if self.orders else builtin()

    def action(self, tool: str, arguments: dict[str, Any], **more: Any) -> dict[str, Any]:
        """The action of one call of ``tool`` with ``arguments`` (and ``more`` fields)."""
        action: dict[str, Any] = {"tool": tool, "input": arguments, "session": self.session}
        if self.environment:
            action["environment"] = self.environment
        if self.agent:
            action["agent"] = self.agent
        return {**action, **more}

    def decide(self, action: dict[str, Any]) -> Verdict:
        """The verdict on ``action``: ``ask`` only when anyone may approve it. Never raises."""
        try:
            if self.server:
                return gate.decide(action, door=self.door, session=self.session, orders=None,
                                   server=self.server, wait=self.wait, budget=self.wait + 30,
                                   held="deny", remember=False)  # fmt: skip
            return gate.decide(action, door=self.door, session=self.session, orders=None,
                               server=None, wait=0, budget=30,
                               decider=self._warm.decision)  # fmt: skip
        except Exception as exc:  # fail closed, saying why
            return Verdict("deny", gate.unable(f"{type(exc).__name__}: {exc}"))

    def probe(self, action: dict[str, Any]) -> tuple[str, Verdict]:
        """The decision's kind (``allow``, ``ask``, ``deny``) and the verdict, recorded like
        any other but opening no approval: for a door that prepares something for the people
        who would be asked (a dry run) only when they would be. Never raises."""
        import json

        try:
            if self.server:
                decision = gate.probe(action, server=self.server, budget=30)
            else:
                decision = self._warm.decision(json.dumps(action))
            return str(decision.get("decision")), gate.verdict_of(decision, "deny")
        except Exception as exc:  # fail closed, saying why
            return "deny", Verdict("deny", gate.unable(f"{type(exc).__name__}: {exc}"))

    def outcome(self, verdict: Verdict, status: str) -> None:
        """Tell the server how a call it let through went; never raises (the call ran)."""
        if not self.server or verdict.action_id is None:
            return
        try:
            gate.outcome(self.server, verdict.action_id, status)
        except Exception as exc:
            log.warning("the outcome of action %s was not recorded: %s", verdict.action_id, exc)

    def charter(self) -> frozenset[str] | None:
        """The tool-name patterns of the agent's charter; ``None`` when no charter restricts
        tools. On a server that cannot be asked: none at all (nothing is offered)."""
        if not self.server:
            declared = self.loaded.agents.get(self.agent or "")
            charter = declared.charter if declared is not None else None
            return charter.tools if charter is not None else None
        from watchkeeper.doors.client import Client

        try:
            key = gate.env("WATCHKEEPER_TOKEN", "WATCHKEEPER_API_KEY")
            found = Client(self.server, key, timeout=10).get("/v1/charter").get("tools")
        except Exception as exc:
            log.warning("the agent's charter could not be read (%s): no tool is offered", exc)
            return frozenset()
        return frozenset(found) if isinstance(found, list) else None


#: The most characters of one argument's value shown in a question to a person.
VALUE_SHOWN = 300
#: The most arguments a call may have for a person to be asked about it.
ARGUMENTS_SHOWN = 40


def question(why: str, tool: str, where: str, arguments: dict[str, Any]) -> str | None:
    """What a person is asked to allow: why, and the call with every argument (each value cut
    on its own, so none hides another); ``None`` when the call is too large to show whole."""
    import json

    if len(arguments) > ARGUMENTS_SHOWN:
        return None
    shown = []
    for name in sorted(arguments):
        value = json.dumps(arguments[name], ensure_ascii=True, sort_keys=True, default=str)
        if len(value) > VALUE_SHOWN:
            value = f"{value[:VALUE_SHOWN]}… ({len(value) - VALUE_SHOWN} more characters)"
        shown.append(f"{json.dumps(name, ensure_ascii=True)}: {value}")
    listed = "; ".join(shown) if shown else "none"
    return f"{why} Allow this call of {tool!r}{where}, once? Arguments: {listed}"


def nobody_to_ask(why: str, here: str) -> str:
    """The refusal of an ``ask`` where nobody can be asked (``here`` says why not)."""
    return (
        f"{why} It needs a person's approval, and {here}: ask the user, or run it where a "
        "person can approve it."
    )

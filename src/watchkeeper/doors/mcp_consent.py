"""Asking the person at the MCP client to allow one call, and taking their answer for that call
only, once.

    consent = Consent()
    consent.question(why, "git", call)      # what the person reads: the call, every argument
    state = consent.issue(call)             # a 2026-07-28 client echoes it back with the answer
    consent.redeem(state, call)             # True once, for the same call, within TTL

A ``requestState`` is a random nonce the gateway remembers with the call's digest: it cannot be
made up, carried to another call, or used twice.
"""

from __future__ import annotations

import secrets
import time

from watchkeeper.canonical import canonical_json, digest_bytes
from watchkeeper.doors.mcp_wire import ToolCall

#: What a ``requestState`` the gateway made starts with.
PREFIX = "watchkeeper:"
#: Seconds an issued question may be answered in.
TTL = 600.0
#: The most questions waiting for an answer at once; the oldest go first.
KEEP = 1000


def digest(call: ToolCall) -> str:
    return digest_bytes(canonical_json([call.name, call.arguments]))


class Consent:
    """The questions one gateway asked and has not had answered."""

    def __init__(self) -> None:
        self.issued: dict[str, tuple[str, float]] = {}

    @staticmethod
    def question(why: str, server: str, call: ToolCall) -> str | None:
        """The question: why it is asked, and the call as it would be sent, every argument
        shown; ``None`` when it is too large to show whole (then nobody is asked)."""
        from watchkeeper.adapters.tool_gate import question

        return question(why, call.name, f" on {server!r}", call.arguments)

    def issue(self, call: ToolCall) -> str:
        """A new ``requestState`` for ``call``."""
        now = time.monotonic()
        for state, (_, until) in list(self.issued.items()):
            if until <= now:
                del self.issued[state]
        while len(self.issued) >= KEEP:
            self.issued.pop(next(iter(self.issued)))
        state = PREFIX + secrets.token_hex(16)
        self.issued[state] = (digest(call), now + TTL)
        return state

    def redeem(self, state: str, call: ToolCall) -> bool:
        """Whether ``state`` was issued for ``call`` and is still good; it is used up either way."""
        found = self.issued.pop(state, None)
        return found is not None and found[0] == digest(call) and found[1] > time.monotonic()

"""The OpenAI Agents SDK: a tool input guardrail that asks watchkeeper first
(``pip install watchkeeper[openai-agents]``), and its approval hook.

    from agents import Agent, function_tool
    from watchkeeper.adapters.openai_agents import AgentsGuard
    from watchkeeper.adapters.tool_gate import ToolGate

    guard = AgentsGuard(ToolGate(door="openai-agents", orders="watchkeeper.yaml"))
    refund = guard.tool(refund)                  # function_tool(refund) with both hooks
    # or, on a tool of your own making:
    function_tool(refund, tool_input_guardrails=[guard.guardrail],
                  needs_approval=guard.needs_approval("refund"))

A call is decided before the tool runs: an allowed one runs; a refused one does not, and the
model gets the answer back in place of the tool's result (the guardrail's ``reject_content``).
An ``ask`` that anyone may approve is the SDK's own approval: ``needs_approval`` interrupts the
run, the application shows ``result.interruptions`` to its person and approves or rejects
them on the run state, and the call runs only once approved. Calls held for named people wait
on the server up to the gate's ``wait`` in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool, function_tool
from agents.run_context import RunContextWrapper
from agents.tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)

from watchkeeper.adapters.arguments import BadArguments, checked
from watchkeeper.adapters.tool_gate import ToolGate, nobody_to_ask
from watchkeeper.doors.gate import Verdict

Approval = Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]

#: The most verdicts kept between the approval hook and the guardrail of the same call.
KEEP = 1000
#: Seconds a verdict of the approval hook stays good for the guardrail. A call that was not
#: held reaches its guardrail at once; one a person was asked about is decided again when its
#: answer comes (a pause may have come into force meanwhile).
FRESH = 30.0


class AgentsGuard:
    """The guardrail and approval hook of one :class:`ToolGate`."""

    def __init__(self, gate: ToolGate) -> None:
        self.gate = gate
        #: Verdicts the approval hook reached, by tool, call id and arguments, for the
        #: guardrail of the very same call: one decision (and one record) per call.
        self._early: dict[tuple[str, str, str], tuple[float, Verdict]] = {}
        self.guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(
            guardrail_function=self._check, name="watchkeeper"
        )

    def tool(self, func: Callable[..., Any], **options: Any) -> FunctionTool:
        """``function_tool(func, **options)`` with the guardrail and the approval hook."""
        guardrails = [*(options.pop("tool_input_guardrails", None) or ()), self.guardrail]
        name = options.get("name_override") or func.__name__
        made: FunctionTool = function_tool(
            func, tool_input_guardrails=guardrails, needs_approval=self.needs_approval(name),
            **options,
        )  # fmt: skip
        return made

    def needs_approval(self, tool: str) -> Approval:
        """The SDK's approval hook for the tool named ``tool``: whether a person must approve
        a call first (the decision is ``ask``, and anyone may approve it)."""

        async def needed(context: RunContextWrapper[Any], arguments: dict[str, Any],
                         call_id: str) -> bool:  # fmt: skip
            action = self.gate.action(tool, arguments)
            verdict = await asyncio.to_thread(self.gate.decide, action)
            self._early[(tool, call_id, _canonical(arguments))] = (time.monotonic(), verdict)
            while len(self._early) > KEEP:
                self._early.pop(next(iter(self._early)))
            return verdict.decision == "ask"

        return needed

    def _taken(self, tool: str, call_id: str, arguments: dict[str, Any]) -> Verdict | None:
        """The approval hook's verdict on this very call (the same tool, id and arguments),
        taken once and only while fresh."""
        found = self._early.pop((tool, call_id, _canonical(arguments)), None)
        if found is None or time.monotonic() - found[0] > FRESH:
            return None
        return found[1]

    async def _check(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        context = data.context
        name, call_id = context.tool_name, context.tool_call_id
        try:
            given = json.loads(context.tool_arguments or "{}")
        except ValueError as exc:
            given = exc
        if not isinstance(given, dict):
            text = f"The call's arguments are not a JSON object ({given}); it was not run."
            return ToolGuardrailFunctionOutput.reject_content(text)
        try:  # decided on what the function will take: no coercion after the decision
            schema = _schema_of(data.agent, name)
            arguments = await asyncio.wait_for(asyncio.to_thread(checked, schema, given), 2.0)
        except (BadArguments, TimeoutError) as exc:
            why = str(exc) or "checking them took over 2 s"
            text = (f"Not run: the arguments are not ones {name!r} takes ({why}). Call it "
                    "again with arguments of the types it declares.")  # fmt: skip
            return ToolGuardrailFunctionOutput.reject_content(text)
        verdict = self._taken(name, call_id, given)
        if verdict is None:
            verdict = await asyncio.to_thread(self.gate.decide, self.gate.action(name, arguments))
        if verdict.decision == "ask":
            if context.is_tool_approved(name, call_id) is True:  # the run's person said yes
                return ToolGuardrailFunctionOutput.allow({"action_id": verdict.action_id})
            here = "it was not approved in the run (see AgentsGuard.needs_approval)"
            return ToolGuardrailFunctionOutput.reject_content(nobody_to_ask(verdict.message, here))
        if verdict.decision == "allow":
            return ToolGuardrailFunctionOutput.allow({"action_id": verdict.action_id})
        return ToolGuardrailFunctionOutput.reject_content(verdict.message)


def _canonical(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, default=str)


def _schema_of(agent: Any, name: str) -> dict[str, Any] | None:
    """The JSON Schema of the agent's function tool ``name``, if it has one."""
    for tool in getattr(agent, "tools", None) or ():
        if getattr(tool, "name", None) == name:
            schema = getattr(tool, "params_json_schema", None)
            return schema if isinstance(schema, dict) else None
    return None

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
from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool, function_tool
from agents.run_context import RunContextWrapper
from agents.tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
)

from watchkeeper.adapters.tool_gate import ToolGate, nobody_to_ask
from watchkeeper.doors.gate import Verdict

Approval = Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]

#: The most verdicts kept between the approval hook and the guardrail of the same call.
KEEP = 1000


class AgentsGuard:
    """The guardrail and approval hook of one :class:`ToolGate`."""

    def __init__(self, gate: ToolGate) -> None:
        self.gate = gate
        #: Verdicts the approval hook reached, by call id, for the guardrail of the same call:
        #: one decision (and one record) per call.
        self._early: dict[str, tuple[str, Verdict]] = {}
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
            self._remember(call_id, json.dumps(arguments, sort_keys=True), verdict)
            return verdict.decision == "ask"

        return needed

    def _remember(self, call_id: str, arguments: str, verdict: Verdict) -> None:
        self._early[call_id] = (arguments, verdict)
        while len(self._early) > KEEP:
            self._early.pop(next(iter(self._early)))

    async def _check(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        context = data.context
        name, call_id = context.tool_name, context.tool_call_id
        try:
            arguments = json.loads(context.tool_arguments or "{}")
        except ValueError as exc:
            arguments = exc
        if not isinstance(arguments, dict):
            text = f"The call's arguments are not a JSON object ({arguments}); it was not run."
            return ToolGuardrailFunctionOutput.reject_content(text)
        early = self._early.pop(call_id, None)
        if early is not None and early[0] == json.dumps(arguments, sort_keys=True):
            verdict = early[1]
        else:
            action = self.gate.action(name, arguments)
            verdict = await asyncio.to_thread(self.gate.decide, action)
        if verdict.decision == "ask":
            if context.is_tool_approved(name, call_id) is True:  # the run's person said yes
                return ToolGuardrailFunctionOutput.allow({"action_id": verdict.action_id})
            here = "it was not approved in the run (see AgentsGuard.needs_approval)"
            return ToolGuardrailFunctionOutput.reject_content(nobody_to_ask(verdict.message, here))
        if verdict.decision == "allow":
            return ToolGuardrailFunctionOutput.allow({"action_id": verdict.action_id})
        return ToolGuardrailFunctionOutput.reject_content(verdict.message)

"""LangChain: tools that ask watchkeeper first (``pip install watchkeeper[langchain]``).

    from watchkeeper.adapters.langchain import guard_tools
    from watchkeeper.adapters.tool_gate import ToolGate

    gate = ToolGate(door="langchain", orders="watchkeeper.yaml", agent="support-bot")
    agent = create_agent(model, tools=guard_tools([refund, lookup], gate))

Each guarded tool has its tool's name, description and arguments. A call is decided first; an
allowed call runs the tool (and, on a server, its outcome is reported); a refused one does not,
and the model gets the answer back as the tool's result (a ``ToolMessage`` with status
``error``). An ``ask`` that anyone may approve goes to ``ask`` when one is given (a function
that shows the person the question and returns whether they allow it), and is refused
otherwise. Async calls decide in a worker thread: waiting for an approval never blocks the
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict

from watchkeeper.adapters.tool_gate import ToolGate, nobody_to_ask
from watchkeeper.doors.gate import Verdict

Asker = Callable[[str], bool]


class GuardedTool(BaseTool):
    """A LangChain tool that runs ``tool`` only when watchkeeper allows the call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool: BaseTool
    gate: ToolGate
    ask: Asker | None = None
    handle_tool_error: bool = True  # a refusal is the tool's answer, not the run's end

    def _verdict(self, arguments: dict[str, Any]) -> Verdict:
        verdict = self.gate.decide(self.gate.action(self.name, arguments))
        if verdict.decision != "ask":
            return verdict
        question = f"{verdict.message} Allow the call {self.name!r}?"
        if self.ask is None:
            here = "nobody here can give it (the guard was given no way to ask)"
            return Verdict("deny", nobody_to_ask(verdict.message, here), verdict.action_id)
        try:
            allowed = self.ask(question)
        except Exception as exc:  # an asker that fails has not allowed anything
            return Verdict("deny", f"{verdict.message} Asking the person failed: {exc}")
        if allowed is True:
            return Verdict("allow", verdict.message, verdict.action_id)
        return Verdict("deny", "Not allowed: the person declined it. Do not try it another way.")

    def _run(self, config: RunnableConfig, **kwargs: Any) -> Any:
        verdict = self._verdict(kwargs)
        if verdict.decision != "allow":
            raise ToolException(verdict.message)
        try:
            result = self.tool.invoke(kwargs, config)
        except BaseException:
            self.gate.outcome(verdict, "failed")
            raise
        self.gate.outcome(verdict, "succeeded")
        return result

    async def _arun(self, config: RunnableConfig, **kwargs: Any) -> Any:
        verdict = await asyncio.to_thread(self._verdict, kwargs)
        if verdict.decision != "allow":
            raise ToolException(verdict.message)
        try:
            result = await self.tool.ainvoke(kwargs, config)
        except BaseException:
            await asyncio.to_thread(self.gate.outcome, verdict, "failed")
            raise
        await asyncio.to_thread(self.gate.outcome, verdict, "succeeded")
        return result


def guard_tool(tool: BaseTool, gate: ToolGate, ask: Asker | None = None) -> GuardedTool:
    """``tool``, deciding every call with ``gate`` first."""
    return GuardedTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        return_direct=tool.return_direct,
        tool=tool,
        gate=gate,
        ask=ask,
    )


def guard_tools(
    tools: Sequence[BaseTool], gate: ToolGate, ask: Asker | None = None
) -> list[GuardedTool]:
    """Each of ``tools``, guarded by ``gate`` (see :func:`guard_tool`)."""
    return [guard_tool(tool, gate, ask) for tool in tools]

"""LangChain: tools that ask watchkeeper first (``pip install watchkeeper[langchain]``).

    from watchkeeper.adapters.langchain import guard_tools
    from watchkeeper.adapters.tool_gate import ToolGate

    gate = ToolGate(door="langchain", orders="watchkeeper.yaml", agent="support-bot")
    agent = create_agent(model, tools=guard_tools([refund, lookup], gate))

Each guarded tool has its tool's name, description and arguments. A call is decided first; an
allowed call runs the tool (and, on a server, its outcome is reported); a refused one does not,
and the model gets the answer back as the tool's result (a ``ToolMessage`` with status
``error``). An ``ask`` that anyone may approve goes to ``ask`` when one is given (a function
that shows the person the question, with every argument of the call, and returns whether they
allow it), and is refused otherwise. Async calls decide in a worker thread: waiting for an
approval never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict
from pydantic_core import to_jsonable_python

from watchkeeper.adapters.tool_gate import ToolGate, nobody_to_ask, question
from watchkeeper.doors.gate import Verdict

Asker = Callable[[str], bool]


def _unreadable(error: Any) -> str:
    """What the model is told of arguments the tool cannot take: nothing ran, and why."""
    return f"Not run: the arguments are not ones this tool takes ({error})."


class GuardedTool(BaseTool):
    """A LangChain tool that runs ``tool`` only when watchkeeper allows the call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool: BaseTool
    gate: ToolGate
    ask: Asker | None = None
    handle_tool_error: bool = True  # a refusal is the tool's answer, not the run's end
    handle_validation_error: Callable[[Any], str] = _unreadable  # and arguments it cannot take

    def _verdict(self, arguments: dict[str, Any]) -> Verdict:
        plain = to_jsonable_python(arguments, fallback=str)  # models and dates as JSON
        verdict = self.gate.decide(self.gate.action(self.name, plain))
        if verdict.decision != "ask":
            return verdict
        if self.ask is None:
            here = "nobody here can give it (the guard was given no way to ask)"
            return Verdict("deny", nobody_to_ask(verdict.message, here), verdict.action_id)
        asked = question(verdict.message, self.name, "", plain)
        if asked is None:
            return Verdict("deny", f"{verdict.message} It needs a person's approval, and the "
                           "call is too large to show whole.")  # fmt: skip
        try:
            allowed = self.ask(asked)
        except Exception as exc:  # an asker that fails has not allowed anything
            return Verdict("deny", f"{verdict.message} Asking the person failed: {exc}")
        if allowed is True:
            return Verdict("allow", verdict.message, verdict.action_id)
        return Verdict("deny", "Not allowed: the person declined it. Do not try it another way.")

    @staticmethod
    def _input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """What the tool is invoked with, and the arguments decided: a tool that takes one
        string (``Tool``) gets it positionally, decided as ``{"input": …}``."""
        if args and not kwargs and len(args) == 1:
            return args[0], {"input": args[0]}
        if args:
            raise ToolException("the tool was called with positional and named arguments")
        return kwargs, kwargs

    def _run(self, *args: Any, config: RunnableConfig, **kwargs: Any) -> Any:
        given, arguments = self._input(args, kwargs)
        verdict = self._verdict(arguments)
        if verdict.decision != "allow":
            raise ToolException(verdict.message)
        try:
            result = self.tool.invoke(given, config)
        except BaseException:
            self.gate.outcome(verdict, "failed")
            raise
        self.gate.outcome(verdict, "succeeded")
        return result

    async def _arun(self, *args: Any, config: RunnableConfig, **kwargs: Any) -> Any:
        given, arguments = self._input(args, kwargs)
        verdict = await asyncio.to_thread(self._verdict, arguments)
        if verdict.decision != "allow":
            raise ToolException(verdict.message)
        try:
            result = await self.tool.ainvoke(given, config)
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

"""The framework guards in real agents with scripted models: LangChain's ``create_agent`` with a
chat model that calls tools as told, and the OpenAI Agents SDK's ``Runner`` with its own
``ScriptedModel``. Allowed calls run; refused ones do not, and the model reads the reason; an
``ask`` goes to the person (LangChain's asker, the Agents SDK's approvals); deciding in process."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner, set_tracing_disabled
from agents.items import ToolCallOutputItem
from agents.testing.model import ScriptedModel, assistant_message, function_call
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel

from watchkeeper.adapters.langchain import guard_tools
from watchkeeper.adapters.openai_agents import AgentsGuard
from watchkeeper.adapters.tool_gate import ToolGate

set_tracing_disabled(True)  # no traces leave the test

ORDERS = """
environments:
  workstation: {unplaced: true, default: ask}
tools:
  refund: {verb: transfer, target: money}
  wire: {verb: transfer, target: money}
  purge: {verb: delete, target: file, reversible: "no"}
  lookup: {verb: read, target: message}
  find_order: {verb: read, target: message}
rules:
  - name: small-refunds-are-fine
    match: {tool: refund}
    when: "action.input.amount <= 100"
    decision: allow
  - name: lookups-are-free
    match: {tool: [lookup, find_order]}
    when: "!has(action.input.request) || action.input.request.amount < 100"
    decision: allow
  - name: wires-are-refused
    match: {tool: wire}
    decision: deny
  - name: forced-purges-are-refused
    match: {tool: purge}
    when: "action.input.force == true"
    decision: deny
  - name: large-refunds-go-to-people
    match: {tool: refund}
    when: "action.input.amount > 1000"
    decision: deny
    reason: Refunds over 1,000 are decided by people.
    instructions: Open a case for the customer.
"""


@pytest.fixture
def gate_for(tmp_path: Path) -> Any:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(ORDERS, encoding="utf-8")

    def made(door: str) -> ToolGate:
        return ToolGate(door=door, orders=path, agent="support-bot")

    return made


class Order(BaseModel):
    """A refund request, as a model the tool takes whole."""

    order: str
    amount: int


class Scripted(FakeMessagesListChatModel):
    """A chat model that answers with the messages it is given, in turn, whatever tools it is
    bound to."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


def refund_tool(ran: list[float]) -> BaseTool:
    @tool
    def refund(order: str, amount: float) -> str:
        """Refund part of an order."""
        ran.append(amount)
        return f"refunded {amount:g} on {order}"

    return refund


def calls(*amounts: float) -> list[AIMessage]:
    """The model's turns: one refund call per amount, then a last word."""
    turns = [AIMessage(content="", tool_calls=[{"name": "refund", "id": f"c{i}",
                                                 "args": {"order": "A-1", "amount": amount}}])
             for i, amount in enumerate(amounts)]  # fmt: skip
    return [*turns, AIMessage(content="done")]


def tool_messages(state: dict[str, Any]) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}


def test_langchain_runs_what_is_allowed_and_tells_the_model_what_is_not(gate_for: Any) -> None:
    ran: list[float] = []
    gate = gate_for("langchain")
    agent = create_agent(Scripted(responses=calls(40, 5000)),
                         tools=guard_tools([refund_tool(ran)], gate))  # fmt: skip
    answers = tool_messages(agent.invoke({"messages": [("user", "refund my mug")]}))
    assert ran == [40]
    assert (answers["c0"].status, answers["c0"].content) == ("success", "refunded 40 on A-1")
    assert answers["c1"].status == "error"
    refused = gate.decide(gate.action("refund", {"order": "A-1", "amount": 5000}))
    assert answers["c1"].content == refused.message
    assert answers["c1"].content.startswith(
        "Refused by watchkeeper (large-refunds-go-to-people): Refunds over 1,000 are decided"
    )


@pytest.mark.parametrize("answer", [True, False, None], ids=["yes", "no", "nobody"])
def test_langchain_puts_an_ask_to_the_person(gate_for: Any, answer: bool | None) -> None:
    ran: list[float] = []
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question)
        return bool(answer)

    tools = guard_tools([refund_tool(ran)], gate_for("langchain"), ask if answer is not None
                        else None)  # fmt: skip
    agent = create_agent(Scripted(responses=calls(500)), tools=tools)
    (message,) = tool_messages(agent.invoke({"messages": [("user", "refund")]})).values()
    assert ran == ([500] if answer else [])
    assert len(asked) == (0 if answer is None else 1)
    if asked:  # the person sees the call, every argument
        assert asked[0].endswith('Arguments: "amount": 500.0; "order": "A-1"')
    if answer is None:
        assert "nobody here can give it" in str(message.content)
    elif not answer:
        assert str(message.content).startswith("Not allowed: the person declined it.")


def test_langchain_async_does_not_block_the_event_loop(gate_for: Any) -> None:
    ran: list[float] = []
    agent = create_agent(Scripted(responses=calls(40, 5000)),
                         tools=guard_tools([refund_tool(ran)], gate_for("langchain")))  # fmt: skip

    async def go() -> dict[str, Any]:
        state: dict[str, Any] = await agent.ainvoke({"messages": [("user", "refund")]})
        return state

    answers = tool_messages(asyncio.run(go()))
    assert ran == [40]
    assert answers["c1"].status == "error"


def agents_run(guard: AgentsGuard, amounts: Sequence[float], ran: list[float]) -> Any:
    # An int, as the model sends it: the SDK asks a person itself, without the hook, for a
    # call whose arguments its validation changes (40 to 40.0).
    def refund(order: str, amount: int) -> str:
        """Refund part of an order."""
        ran.append(amount)
        return f"refunded {amount:g} on {order}"

    steps: list[Any] = [
        [function_call("refund", {"order": "A-1", "amount": amount}, call_id=f"c{i}")]
        for i, amount in enumerate(amounts)
    ]
    steps.append([assistant_message("done")])  # fmt: skip
    return Agent(name="support", model=ScriptedModel(steps), tools=[guard.tool(refund)])


def outputs(result: Any) -> dict[str, str]:
    return {item.raw_item["call_id"]: str(item.output) for item in result.new_items
            if isinstance(item, ToolCallOutputItem)}  # fmt: skip


def test_openai_agents_runs_what_is_allowed_and_tells_the_model_what_is_not(
    gate_for: Any,
) -> None:
    ran: list[float] = []
    gate = gate_for("openai-agents")
    agent = agents_run(AgentsGuard(gate), [40, 5000], ran)
    result = asyncio.run(Runner.run(agent, "refund my mug"))
    assert ran == [40]
    said = outputs(result)
    assert said["c0"] == "refunded 40 on A-1"
    refused = gate.decide(gate.action("refund", {"order": "A-1", "amount": 5000}))
    assert said["c1"] == refused.message


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "rejected"])
def test_openai_agents_ask_is_the_runs_own_approval(gate_for: Any, approve: bool) -> None:
    ran: list[float] = []
    agent = agents_run(AgentsGuard(gate_for("openai-agents")), [500], ran)

    async def go() -> Any:
        first = await Runner.run(agent, "refund")
        (pending,) = first.interruptions
        assert ran == []  # held until a person answers
        state = first.to_state()
        if approve:
            state.approve(pending)
        else:
            state.reject(pending)
        return await Runner.run(agent, state)

    result = asyncio.run(go())
    assert ran == ([500] if approve else [])
    if not approve:
        assert "refunded" not in outputs(result).get("c0", "")


def test_langchain_decides_models_and_single_string_tools(gate_for: Any) -> None:
    """Arguments that are models are decided as their JSON; a tool of one string is called
    with it."""
    from langchain_core.tools import Tool

    ran: list[Any] = []

    @tool
    def find_order(request: Order) -> str:
        """Find the order a request is about."""
        ran.append(request.amount)
        return "found it"

    def look(query: str) -> str:
        ran.append(query)
        return "found"

    gate = gate_for("langchain")
    guarded = guard_tools([find_order, Tool(name="lookup", description="Look up.", func=look)],
                          gate)  # fmt: skip
    assert guarded[0].invoke({"request": {"order": "A-1", "amount": 40}}) == "found it"
    refused = guarded[0].invoke({"request": {"order": "A-1", "amount": 400}})
    assert "nobody here can give it" in refused  # decided on the model's fields
    assert guarded[1].invoke("order A-1") == "found"
    assert ran == [40, "order A-1"]


def test_openai_agents_takes_no_verdict_meant_for_another_call(gate_for: Any) -> None:
    """A verdict the approval hook reached for one call (refund, held, then rejected) is not
    taken by a later call of another tool under the same call id."""
    guard = AgentsGuard(gate_for("openai-agents"))
    ran: list[str] = []

    def refund(order: str, amount: int) -> str:
        """Refund part of an order."""
        ran.append("refund")
        return "refunded"

    def wire(order: str, amount: int, memo: str = "") -> str:
        """Wire money."""
        ran.append("wire")
        return "wired"

    async def go() -> list[Any]:
        first = Agent(name="a", model=ScriptedModel([
            [function_call("refund", {"order": "A-1", "amount": 500}, call_id="c0")],
            [assistant_message("done")]]), tools=[guard.tool(refund)])  # fmt: skip
        held = await Runner.run(first, "refund")
        state = held.to_state()
        state.reject(held.interruptions[0])
        await Runner.run(first, state)
        second = Agent(name="b", model=ScriptedModel([
            [function_call("wire", {"order": "A-1", "amount": 500}, call_id="c0")],
            [assistant_message("done")]]), tools=[guard.tool(wire)])  # fmt: skip
        result = await Runner.run(second, "wire")
        if result.interruptions:  # the SDK asks itself (memo's default): someone says yes
            state = result.to_state()
            state.approve(result.interruptions[0])
            result = await Runner.run(second, state)
        return [str(i.output) for i in result.new_items if isinstance(i, ToolCallOutputItem)]

    said = asyncio.run(go())
    assert ran == []
    assert any("(wires-are-refused)" in text for text in said)


def test_openai_agents_refuses_arguments_the_function_would_coerce(gate_for: Any) -> None:
    """ "true" for a boolean is refused by the guardrail, even after a person approved the
    call in the SDK's own prompt: the decision is made on what the function would take."""
    guard = AgentsGuard(gate_for("openai-agents"))
    ran: list[bool] = []

    def purge(order: str, force: bool) -> str:
        """Purge an order's files."""
        ran.append(force)
        return "purged"

    async def go() -> list[str]:
        agent = Agent(name="a", model=ScriptedModel([
            [function_call("purge", {"order": "A-1", "force": "true"}, call_id="c0")],
            [assistant_message("done")]]), tools=[guard.tool(purge)])  # fmt: skip
        result = await Runner.run(agent, "purge")
        if result.interruptions:
            state = result.to_state()
            state.approve(result.interruptions[0])
            result = await Runner.run(agent, state)
        return [str(i.output) for i in result.new_items if isinstance(i, ToolCallOutputItem)]

    said = asyncio.run(go())
    assert ran == []
    assert any("force: 'true' is not of type 'boolean'" in text for text in said), said

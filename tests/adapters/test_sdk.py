"""The embedded SDK: check, explain and the guard decorator, sync and async."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from watchkeeper import (
    Action,
    ActionBlocked,
    ActionDenied,
    ApprovalRequired,
    Intent,
    OrdersError,
    UsageError,
    Watchkeeper,
)

ORDERS = EXAMPLES / "infra"
SUPPORT = Intent(kind="refund")


@pytest.fixture
def wk() -> Watchkeeper:
    return Watchkeeper.from_file(ORDERS, agent="support-bot", session="case-1")


def test_check_fills_agent_and_session(wk: Watchkeeper) -> None:
    decision = wk.check(
        {
            "tool": "refund",
            "environment": "prod",
            "intent": {"kind": "refund"},
            "input": {"amount": 20},
        }
    )
    assert decision.decision == "allow", decision.reasons
    assert decision.rules == ("support-within-charter",)


@pytest.mark.parametrize("named", ["dba-bot", None], ids=["another-agent", "explicit-none"])
def test_a_bound_agent_cannot_be_swapped_or_dropped(wk: Watchkeeper, named: str | None) -> None:
    action = {"agent": named, "tool": "refund", "environment": "prod", "input": {"amount": 5000}}
    decision = wk.check(action)
    assert decision.decision != "allow"
    if named is not None:
        assert decision.decision == "deny"
        assert "acts for agent 'support-bot'" in decision.reasons[0]
    else:
        assert "over its charter limit" in decision.reasons[0]


def test_an_action_object_is_bound_to_the_agent_too(wk: Watchkeeper) -> None:
    decision = wk.check(Action(tool="refund", input={"amount": 5000}, environment="prod"))
    assert decision.decision == "ask"
    assert "outside the charter of agent 'support-bot'" in decision.reasons[0]


@pytest.mark.parametrize("bad", [None, "refund", 5, [("tool", "x")]])
def test_check_never_raises_on_what_is_not_an_action(wk: Watchkeeper, bad: object) -> None:
    decision = wk.check(bad)  # type: ignore[arg-type]
    assert decision.decision == "deny"
    assert decision.reasons[0].startswith("invalid action")


def test_guard_runs_the_function_when_allowed(wk: Watchkeeper) -> None:
    calls = []

    @wk.guard(tool="refund", environment="prod", intent=SUPPORT)
    def refund(order: str, amount: float, note: str = "") -> str:
        calls.append((order, amount))
        return "refunded"

    assert refund("A-1", 20) == "refunded"
    assert calls == [("A-1", 20)]
    assert refund.__name__ == "refund"


def test_guard_raises_approval_required_with_reasons(wk: Watchkeeper) -> None:
    calls = []

    @wk.guard(tool="refund", environment="prod", intent=SUPPORT)
    def refund(order: str, amount: float) -> None:
        calls.append(order)

    with pytest.raises(ApprovalRequired) as info:
        refund("A-2", amount=1450)
    assert calls == []
    assert "over its charter limit of 100" in info.value.reasons[0]
    assert info.value.decision.approvals[0].users == ("dana@example.com",)
    assert isinstance(info.value, ActionBlocked)


def test_guard_raises_action_denied_with_instructions(tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text(
        "rules:\n"
        "  - name: no-big-refunds\n"
        "    match: {tool: refund}\n"
        "    when: input.amount > 1000\n"
        "    decision: deny\n"
        "    instructions: Offer store credit instead.\n"
    )
    wk = Watchkeeper.from_file(orders)

    @wk.guard(tool="refund")
    def refund(amount: int) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ActionDenied) as info:
        refund(5000)
    assert info.value.instructions == ["Offer store credit instead."]
    # One sentence for the model, the same the doors give (watchkeeper.answer).
    assert str(info.value) == info.value.message
    assert info.value.message.startswith("Refused by watchkeeper (no-big-refunds): ")
    assert "Instructions: Offer store credit instead." in info.value.message


def test_guard_on_async_functions(wk: Watchkeeper) -> None:
    @wk.guard(tool="refund", environment="prod", intent=SUPPORT)
    async def refund(order: str, amount: float) -> str:
        await asyncio.sleep(0)
        return f"{order}:{amount}"

    assert asyncio.run(refund("A-3", 10)) == "A-3:10"
    with pytest.raises(ApprovalRequired):
        asyncio.run(refund("A-3", 500))


def test_guard_without_arguments_uses_the_function_name(tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text("rules: [{name: stop, match: {tool: wipe}, decision: deny}]\n")
    wk = Watchkeeper.from_file(orders)

    @wk.guard
    def wipe() -> None:
        raise AssertionError("must not run")

    with pytest.raises(ActionDenied) as info:
        wipe()
    assert info.value.decision.rules == ("stop",)


def test_guard_input_is_bound_arguments_without_self(tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text(
        "rules:\n"
        "  - name: exact-input\n"
        "    match: {tool: move}\n"
        "    when: \"input == {'src': 'a', 'dst': 'b', 'force': false, 'tags': ['x']}\"\n"
        "    decision: deny\n"
    )
    wk = Watchkeeper.from_file(orders)

    class Mover:
        @wk.guard(tool="move")
        def move(self, src: str, dst: str, force: bool = False, tags: tuple[str, ...] = ()) -> None:
            raise AssertionError("must not run")

    with pytest.raises(ActionDenied) as info:
        Mover().move("a", dst="b", tags=("x",))
    assert info.value.decision.rules == ("exact-input",)


def test_non_json_arguments_become_strings(tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text(
        "rules: [{name: p, match: {tool: f}, when: \"input.p == '/tmp/x'\", decision: deny}]\n"
    )
    wk = Watchkeeper.from_file(orders)

    @wk.guard(tool="f")
    def f(p: Path) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ActionDenied) as info:
        f(Path("/tmp/x"))
    assert info.value.decision.rules == ("p",)


def test_default_uses_builtin_orders() -> None:
    wk = Watchkeeper.default()
    assert wk.orders.rule("prod-irreversible-needs-two").decision == "ask"
    decision = wk.check({"tool": "Read", "environment": "prod", "input": {"file_path": "/a"}})
    assert decision.allowed


def test_from_file_refuses_bad_orders(tmp_path: Path) -> None:
    bad = tmp_path / "o.yaml"
    bad.write_text("rules: [{name: a}]\n")
    with pytest.raises(OrdersError) as info:
        Watchkeeper.from_file(bad)
    assert "missing required key 'decision'" in str(info.value)


def test_guard_refuses_non_callables(wk: Watchkeeper) -> None:
    with pytest.raises(UsageError, match="decorates functions"):
        wk.guard(tool="x")(42)  # type: ignore[arg-type]


def test_explain_through_the_sdk(wk: Watchkeeper) -> None:
    explanation = wk.explain({"tool": "refund", "environment": "prod", "input": {"amount": 500}})
    assert explanation.decision.decision == "ask"
    assert any("over its charter limit" in c for c in explanation.charter)


def test_keyword_arguments_collected_by_kwargs_are_input_fields(tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text(
        "environments: {dev: {default: allow}}\n"
        "rules:\n"
        "  - name: big\n"
        "    match: {tool: refund}\n"
        "    when: has(input.amount) && input.amount > 100\n"
        "    decision: deny\n"
    )
    wk = Watchkeeper.from_file(orders)

    @wk.guard(tool="refund", environment="dev")
    def refund(order: str, **options: object) -> str:
        return "ran"

    assert refund("A", amount=5) == "ran"
    with pytest.raises(ActionDenied) as info:
        refund("A", amount=5000)
    assert info.value.decision.rules == ("big",)


def test_intent_may_be_given_as_its_kind(wk: Watchkeeper) -> None:
    @wk.guard(tool="refund", environment="prod", intent="refund")
    def refund(order: str, amount: float) -> str:
        return "ran"

    assert refund("A", 10) == "ran"


def test_an_intent_of_the_wrong_type_is_refused_at_decoration(wk: Watchkeeper) -> None:
    with pytest.raises(UsageError, match="give an Intent or an intent kind"):
        wk.guard(tool="refund", intent=42)  # type: ignore[call-overload]


def test_asking_for_a_rule_that_does_not_exist_names_the_rules(wk: Watchkeeper) -> None:
    with pytest.raises(UsageError, match=r"no rule named 'nope'.*reads-are-free"):
        wk.orders.rule("nope")


def test_per_call_context_sets_the_intent_of_guarded_calls(wk: Watchkeeper) -> None:
    @wk.guard(tool="send_email", environment="prod")
    def send_email(to: str) -> str:
        return "sent"

    with pytest.raises(ApprovalRequired) as info:  # no intent: outside the charter's intents
        send_email("a@example.com")
    assert "gives no intent kind" in info.value.reasons[0]
    with wk.context(intent=Intent(kind="order_status", goal="tell where the parcel is")):
        assert send_email("a@example.com") == "sent"
        with wk.context(intent="legal_threat"), pytest.raises(ApprovalRequired):
            send_email("a@example.com")  # inner blocks win
        assert send_email("a@example.com") == "sent"


def test_per_call_context_follows_asyncio_tasks(wk: Watchkeeper) -> None:
    @wk.guard(tool="send_email", environment="prod")
    async def send_email(to: str) -> str:
        return "sent"

    async def in_context(kind: str) -> str:
        with wk.context(intent=kind):
            await asyncio.sleep(0)
            try:
                return await send_email("a@example.com")
            except ApprovalRequired:
                return "asked"

    async def both() -> list[str]:
        return list(await asyncio.gather(in_context("order_status"), in_context("legal")))

    assert asyncio.run(both()) == ["sent", "asked"]


def test_an_undeclared_agent_is_refused_when_the_sdk_is_made() -> None:
    with pytest.raises(UsageError, match=r"agent 'suport-bot' is not declared.*'support-bot'"):
        Watchkeeper.from_file(ORDERS, agent="suport-bot")


def test_a_context_environment_cannot_replace_the_guards(wk: Watchkeeper) -> None:
    @wk.guard(tool="refund", environment="prod", intent="refund")
    def refund(order: str, amount: float) -> str:
        return "ran"

    with wk.context(environment="dev"), pytest.raises(UsageError, match="claim one"):
        refund("A", 10)
    with wk.context(environment="prod"):
        assert refund("A", 10) == "ran"

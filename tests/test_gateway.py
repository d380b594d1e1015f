"""The gateway's own fail-closed paths: whatever breaks, the answer is a deny naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from watchkeeper.analyzers import Registry
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action, Intent
from watchkeeper.orders.model import StandingOrders

ORDERS = """
environments: {dev: {default: allow}}
tools: {refund: {verb: transfer, target: money, amount: input.amount}}
"""


@pytest.fixture
def gateway(orders_from: Callable[[str], StandingOrders]) -> Gateway:
    return Gateway(orders_from(ORDERS))


class HostileMapping(Mapping[str, Any]):
    """A mapping that fails when read, as a broken caller's object might."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("cannot read me")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate me")

    def __len__(self) -> int:
        return 1


def test_an_action_that_cannot_be_read_denies(gateway: Gateway) -> None:
    decision = gateway.decide(HostileMapping())
    assert decision.decision == "deny"
    assert decision.reasons == ("invalid action: RuntimeError: cannot iterate me",)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        pytest.param(Action(tool=5), "invalid action: tool: required", id="tool-not-a-string"),  # type: ignore[arg-type]
        pytest.param(
            Action(tool="t", intent="refund"),  # type: ignore[arg-type]
            "invalid action: AttributeError",
            id="intent-not-an-Intent",
        ),
        pytest.param(Action(tool="x" * 300), "longer than 256", id="tool-too-long"),
    ],
)
def test_an_action_object_is_validated_like_json(
    gateway: Gateway, action: Action, reason: str
) -> None:
    decision = gateway.decide(action)
    assert decision.decision == "deny"
    assert reason in decision.reasons[0]
    explanation = gateway.explain(action)
    assert explanation.decision.decision == "deny"


def test_a_broken_registry_is_an_internal_error_that_denies(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    class Broken(Registry):
        def analyzers_for(self, tool: str) -> list[Any]:
            raise RuntimeError("registry is broken")

    gateway = Gateway(orders_from(ORDERS), Broken())
    decision = gateway.decide({"tool": "refund", "environment": "dev", "input": {"amount": 1}})
    assert decision.decision == "deny"
    assert decision.reasons == ("internal error while deciding: RuntimeError: registry is broken",)
    assert decision.environment == "dev"
    assert decision.action_digest is not None


def test_a_declared_analyzer_that_crashes_denies(gateway: Gateway) -> None:
    class Exploding:
        name = "declared:refund"

        def analyze(self, action: Action) -> list[Any]:
            raise ZeroDivisionError("boom")

    gateway._declared["refund"] = Exploding()  # type: ignore[assignment]
    decision = gateway.decide({"tool": "refund", "environment": "dev", "input": {"amount": 1}})
    assert decision.decision == "deny"
    assert decision.reasons == (
        "analyzer 'declared:refund' failed on tool 'refund': ZeroDivisionError: boom",
    )


def test_a_good_action_object_is_decided(gateway: Gateway) -> None:
    action = Action(tool="refund", input={"amount": 5}, environment="dev", intent=Intent("r"))
    assert gateway.decide(action).decision == "allow"

"""The inventory places an action by what it touches; the agent's claim can only add to that."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchkeeper.gateway import Gateway
from watchkeeper.inventory import Inventory, glob_regex
from watchkeeper.models import Action
from watchkeeper.orders.model import StandingOrders

ORDERS = """
environments:
  prod:
    match:
      aws_accounts: ["123456789012"]
      kube_contexts: ["prod-*"]
      terraform_workspaces: [prod]
      hosts: ["*.prod.internal"]
      paths: ["/srv/prod/**"]
    default: ask
  staging:
    match: {hosts: ["*.staging.internal"]}
    default: ask
  dev:
    match: {paths: ["/home/**"], hosts: ["localhost"]}
    default: allow
tools:
  delete_file: {verb: delete, target: file, reversible: "no"}
rules:
  - {name: prod-deletes, match: {environment: prod, verb: delete}, decision: deny}
"""


@pytest.fixture
def inventory(orders_from: Callable[[str], StandingOrders]) -> Inventory:
    return Inventory(orders_from(ORDERS))


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/srv/prod/**", "/srv/prod", True),
        ("/srv/prod/**", "/srv/prod/db/data", True),
        ("/srv/prod/**", "/srv/production", False),
        ("/srv/*/logs", "/srv/a/logs", True),
        ("/srv/*/logs", "/srv/a/b/logs", False),
    ],
)
def test_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_regex(pattern, path=True).fullmatch(path)) is matches


@pytest.mark.parametrize(
    ("input", "environments"),
    [
        pytest.param({"path": "/srv/prod/db"}, ("prod",), id="path"),
        pytest.param({"command": "rm -rf /srv/prod/db/*"}, ("prod",), id="path-in-a-command"),
        pytest.param({"url": "https://api.prod.internal/v1"}, ("prod",), id="url-host"),
        pytest.param({"command": "ssh deploy@web1.prod.internal"}, ("prod",), id="user-at-host"),
        pytest.param({"dsn": "db.staging.internal:5432"}, ("staging",), id="host-port"),
        pytest.param(
            {"arn": "arn:aws:rds:us-east-1:123456789012:db:orders"}, ("prod",), id="arn-account"
        ),
        pytest.param({"context": "prod-eu"}, ("prod",), id="kube-context"),
        pytest.param({"workspace": "prod"}, ("prod",), id="terraform-workspace"),
        pytest.param({"url": "http://localhost:8080"}, ("dev",), id="localhost-url"),
        pytest.param(
            {"src": "/home/me/x", "dst": "/srv/prod/x"}, ("prod", "dev"), id="two-environments"
        ),
    ],
)
def test_the_input_places_the_action(
    inventory: Inventory, input: dict[str, str], environments: tuple[str, ...]
) -> None:
    placement = inventory.place(Action(tool="t", input=input))
    assert placement.environments == environments
    assert placement.single == (environments[0] if len(environments) == 1 else None)


@pytest.mark.parametrize("word", ["prod", "localhost", "rm", "prod-eu"])
def test_a_bare_word_does_not_place_an_action(inventory: Inventory, word: str) -> None:
    placement = inventory.place(Action(tool="t", input={"note": word}))
    assert placement.environments == ("prod", "staging", "dev")
    assert placement.single is None


def test_a_claim_adds_to_what_the_input_shows(inventory: Inventory) -> None:
    placement = inventory.place(Action(tool="t", environment="dev", input={"path": "/srv/prod/db"}))
    assert placement.environments == ("prod", "dev")
    assert placement.note is not None
    assert "prod (path '/srv/prod/db' matches '/srv/prod/**')" in placement.note


def test_a_matching_claim_is_just_the_claim(inventory: Inventory) -> None:
    placement = inventory.place(Action(tool="t", environment="prod", input={"path": "/srv/prod"}))
    assert (placement.environments, placement.single, placement.note) == (("prod",), "prod", None)


def test_an_undeclared_claim_is_judged_everywhere(inventory: Inventory) -> None:
    placement = inventory.place(Action(tool="t", environment="qa", input={"path": "/home/x"}))
    assert placement.environments == ("prod", "staging", "dev")
    assert placement.note is not None
    assert "'qa' is not declared" in placement.note


def test_claiming_dev_does_not_escape_a_production_path(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    gateway = Gateway(orders_from(ORDERS))
    decision = gateway.submit(
        {"tool": "delete_file", "environment": "dev", "input": {"path": "/srv/prod/db"}}
    )
    assert decision.decision == "deny"
    assert decision.rules == ("prod-deletes",)
    assert decision.environment is None
    assert any("touches prod" in r and "claimed dev" in r for r in decision.reasons)


def test_an_action_placed_by_its_input_reports_that_environment(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    gateway = Gateway(orders_from(ORDERS))
    decision = gateway.submit({"tool": "delete_file", "input": {"path": "/home/me/tmp"}})
    assert (decision.decision, decision.environment) == ("allow", "dev")
    assert decision.effects[0].environment == "dev"
    assert "in dev (path '/home/me/tmp' matches '/home/**')" in decision.reasons


def test_without_declared_environments_nothing_is_placed(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    inventory = Inventory(orders_from("rules: []\n"))
    assert inventory.place(Action(tool="t", environment="prod")).environments == ()

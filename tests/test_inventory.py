"""The inventory places an action by what it touches; the agent's claim can only add to that."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchkeeper.gateway import Gateway
from watchkeeper.inventory import MAX_STRINGS, Inventory, glob_regex
from watchkeeper.models import Action
from watchkeeper.orders.loader import load_text
from watchkeeper.orders.model import StandingOrders

ORDERS = """
environments:
  prod:
    match:
      aws_accounts: ["123456789012"]
      gcp_projects: [acme-prod]
      azure_subscriptions: [0b1f6471-1bf0-4dda-aec3-cb9272f09590]
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
        pytest.param({"path": "/home/me/../../srv/prod/db"}, ("prod", "dev"), id="dot-dot"),
        pytest.param({"path": "/srv//prod/db"}, ("prod",), id="double-slash"),
        pytest.param({"path": "/srv/./prod/db"}, ("prod",), id="dot-segment"),
        pytest.param(
            {"url": "http://api.prod.internal\\@x.dev.internal/"}, ("prod",), id="backslash"
        ),
        pytest.param({"url": "http://api%2Eprod.internal/"}, ("prod",), id="percent-host"),
        pytest.param({"url": "https://api.prod.internal./x"}, ("prod",), id="trailing-dot"),
        pytest.param(
            {"cmd": "curl -X DELETE api.prod.internal/v1"}, ("prod",), id="bare-host-path"
        ),
        pytest.param({"cmd": "ssh admin@web1.prod.internal"}, ("prod",), id="ssh-user-host"),
        pytest.param(
            {"cmd": "gcloud --project acme-prod sql instances delete db"}, ("prod",), id="gcp"
        ),
        pytest.param(
            {"cmd": "az group delete --subscription=0b1f6471-1bf0-4dda-aec3-cb9272f09590"},
            ("prod",),
            id="azure",
        ),
        pytest.param({"cmd": "aws --account 123456789012 s3 ls"}, ("prod",), id="aws-id"),
        pytest.param({"files": {"/srv/prod/db": "delete"}}, ("prod",), id="mapping-key"),
        pytest.param({"k8s": {"context": ["prod-east"]}}, ("prod",), id="nested-context"),
        # /data inside the container belongs to no environment: judged everywhere.
        pytest.param(
            {"cmd": "docker run -v /srv/prod:/data img"}, ("prod", "staging", "dev"), id="volume"
        ),
        pytest.param({"cmd": "scp x deploy@web1.prod.internal:/srv/prod/x"}, ("prod",), id="scp"),
        pytest.param({"cmd": "git -C/srv/prod/app status"}, ("prod",), id="attached-option"),
        pytest.param({"url": "file:///srv/prod/db"}, ("prod",), id="file-url"),
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


@pytest.mark.parametrize(
    "input",
    [
        pytest.param({"path": "/tmp/x", "other": "/home/me/y"}, id="unclaimed-path"),
        pytest.param({"url": "https://api.example.com", "p": "/home/me/y"}, id="unclaimed-host"),
        pytest.param({"cmd": "ssh admin@db1 reboot", "p": "/home/me/y"}, id="one-label-user-host"),
        pytest.param({"dsn": "db1:5432", "p": "/home/me/y"}, id="one-label-host-port"),
        pytest.param({"pad": ["x"] * (MAX_STRINGS + 1), "p": "/home/me/y"}, id="too-many-strings"),
        pytest.param({"host": "db7", "p": "/home/me/y"}, id="unrecognised-host-field"),
        pytest.param({"server": ["db7"], "p": "/home/me/y"}, id="unrecognised-server-list"),
        pytest.param({"ip": "10.0.0.5", "p": "/home/me/y"}, id="ip-field"),
        pytest.param({"note": "ping 10.1.2.3", "p": "/home/me/y"}, id="ip-anywhere"),
        pytest.param({"context": "staging-1", "p": "/home/me/y"}, id="unrecognised-context"),
    ],
)
def test_without_a_claim_one_unrecognised_target_makes_it_unknown(
    inventory: Inventory, input: dict[str, object]
) -> None:
    placement = inventory.place(Action(tool="t", input=input))
    assert placement.environments == ("prod", "staging", "dev")


def test_a_file_name_that_looks_like_a_host_does_not_unplace(inventory: Inventory) -> None:
    placement = inventory.place(Action(tool="t", input={"p": "/home/me/main.py"}))
    assert placement.environments == ("dev",)


def test_an_analyzer_effect_environment_places_the_action(inventory: Inventory) -> None:
    from watchkeeper.models import Effect, Target

    effect = Effect("delete", Target("db"), environment="prod", analyzer="sql")
    placement = inventory.place(Action(tool="t", environment="dev"), [effect])
    assert placement.environments == ("prod", "dev")
    unknown = Effect("delete", Target("db"), environment="qa", analyzer="sql")
    assert inventory.place(Action(tool="t", environment="dev"), [unknown]).single is None


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
    decision = gateway.decide(
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
    decision = gateway.decide({"tool": "delete_file", "input": {"path": "/home/me/tmp"}})
    assert (decision.decision, decision.environment) == ("allow", "dev")
    assert decision.effects[0].environment == "dev"
    assert "in dev (path '/home/me/tmp' matches '/home/**')" in decision.reasons


def test_without_declared_environments_nothing_is_placed(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    inventory = Inventory(orders_from("rules: []\n"))
    assert inventory.place(Action(tool="t", environment="prod")).environments == ()


@pytest.mark.parametrize(
    "input",
    [
        {"host": "root@web1.prod.internal"},
        {"hostname": "WEB1.PROD.INTERNAL:22"},
        {"kube-context": "prod-eu"},
    ],
)
def test_named_fields_place_the_action(inventory: Inventory, input: dict[str, str]) -> None:
    assert inventory.place(Action(tool="t", input=input)).environments == ("prod",)


COMMAND_ORDERS = """
environments:
  prod:
    default: deny
    match:
      kube_contexts: ["prod-*"]
      hosts: ["*.prod.internal"]
      terraform_workspaces: [prod]
      gcp_projects: [acme-prod]
  dev: {default: allow, match: {kube_contexts: ["kind-*"]}}
"""


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("kubectl --context prod-eu get pods", "deny"),
        ("kubectl --context=kind-x delete pod a", "allow"),
        ("TF_WORKSPACE=prod terraform destroy", "deny"),
        ("ssh db1.prod.internal uptime", "deny"),
        ("gcloud --project acme-prod sql instances list", "deny"),
    ],
)
def test_what_a_command_names_places_it_despite_the_claim(
    orders_from: Callable[[str], StandingOrders], command: str, decision: str
) -> None:
    gateway = Gateway(orders_from(COMMAND_ORDERS))
    d = gateway.decide({"tool": "shell", "environment": "dev", "input": {"command": command}})
    assert d.decision == decision, d.reasons


SHELL_ORDERS = """
environments:
  prod:
    match:
      aws_accounts: ["123456789012"]
      aws_profiles: [prod-admin]
      paths: ["/srv/prod/**"]
      hosts: ["*.prod.internal"]
      terraform_workspaces: [prod]
      kube_contexts: ["prod-*"]
    default: ask
  dev:
    match: {paths: ["/home/**"], hosts: [localhost]}
    default: allow
"""


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"command": "terraform -chdir=/srv/prod/tf destroy"}, id="chdir"),
        pytest.param({"command": "TF_WORKSPACE=prod terraform destroy"}, id="tf-workspace"),
        pytest.param({"command": "psql -h db.prod.internal -c 'DROP TABLE x'"}, id="psql-host"),
        pytest.param(
            {"command": "psql postgresql://u@db.prod.internal:5432/app -c 'DROP TABLE x'"},
            id="connection-string",
        ),
        pytest.param({"command": "rm -rf build", "cwd": "/srv/prod/app"}, id="cwd"),
        pytest.param({"command": "cd /srv/prod && rm -rf build"}, id="cd"),
        pytest.param({"command": "kubectl --context prod-eu delete ns x"}, id="kube-context"),
        pytest.param({"command": "ssh deploy@web1.prod.internal 'rm -rf /srv/app'"}, id="ssh"),
        pytest.param(
            {"command": "aws rds delete-db-cluster --db-cluster-identifier x --profile prod-admin"},
            id="aws-profile-flag",
        ),
        pytest.param(
            {"command": "AWS_PROFILE=prod-admin aws rds delete-db-cluster --db-cluster-id x"},
            id="aws-profile-variable",
        ),
        pytest.param(
            {"command": "aws iam delete-role --role-arn arn:aws:iam::123456789012:role/x"},
            id="arn-account",
        ),
        # Found by an adversarial review: where the command acts, not how it is written.
        pytest.param({"command": 'rm -rf /srv/"prod"'}, id="quoted-path"),
        pytest.param({"command": "rm -rf /srv/pr''od"}, id="split-path"),
        pytest.param({"command": "D=/srv; rm -rf $D/prod"}, id="variable-path"),
        pytest.param({"command": "cd /srv; rm -rf prod"}, id="cd-then-relative"),
        pytest.param({"command": "rm -rf /srv"}, id="parent-of-prod"),
        pytest.param({"command": "rm -rf /srv/p*"}, id="glob-over-prod"),
        pytest.param(
            {"command": "rsync -a --delete /x/ db.prod.internal:/data/"}, id="remote-path"
        ),
        pytest.param({"command": "psql -hdb.prod.internal -c 'DROP TABLE x'"}, id="attached-host"),
        pytest.param(
            {"command": "terraform workspace select prod && terraform destroy"},
            id="workspace-select",
        ),
        pytest.param(
            {"command": "kubectl config use-context prod-eu; kubectl delete ns x"},
            id="use-context",
        ),
        pytest.param({"command": "env TF_WORKSPACE=prod terraform destroy"}, id="env-wrapper"),
    ],
)
def test_shell_targets_place_the_action_whatever_the_agent_claims(payload: dict[str, str]) -> None:
    gateway = Gateway(load_text(SHELL_ORDERS))
    decision = gateway.decide({"tool": "shell", "input": payload, "environment": "dev"})
    assert "prod" in decision.environments
    assert decision.decision == "ask"  # prod's default; the claim of dev only adds dev

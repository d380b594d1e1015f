"""The built-in default standing orders: they load, pass their shipped tests, and mean it."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper.gateway import Gateway
from watchkeeper.orders.cases import parse_cases, run_cases
from watchkeeper.orders.loader import BUILTIN_NAME, builtin, builtin_text, parse

CASES = parse_cases(builtin_text("default_test.yaml"), "default_test.yaml")

# Tools that carry analyzer flags, declared here because the analyzers that would set them
# (shell, SQL, Terraform) see real commands; these prove the rules that read the flags.
FLAGGED_TOOLS = """
tools:
  decode_and_run: {verb: execute, target: process, flags: [obfuscated]}
  dump_env_to_url: {verb: send, target: message, flags: [credential_access, egress]}
  read_secret: {verb: read, target: secret, flags: [credential_access]}
  edit_hook: {verb: update, target: file, flags: [guard_tamper]}
  eval_remote: {verb: execute, target: process, flags: [dynamic]}
"""


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    orders = parse([(BUILTIN_NAME, builtin_text()), ("flagged.yaml", FLAGGED_TOOLS)])
    return Gateway(orders)


def decide(gateway: Gateway, tool: str, env: str, **input: Any) -> tuple[str, tuple[str, ...]]:
    d = gateway.decide({"agent": "a", "tool": tool, "environment": env, "input": input})
    return d.decision, d.rules


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_shipped_case(case: Any) -> None:
    orders = builtin()
    report = run_cases(orders, [case], Gateway(orders).decide)
    assert report.results[0].passed, report.results[0].failures


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "nowhere"])
def test_obfuscated_execution_is_denied_everywhere(gateway: Gateway, env: str) -> None:
    assert decide(gateway, "decode_and_run", env)[0] == "deny"


@pytest.mark.parametrize(
    ("env", "also"), [("dev", ()), ("prod", ("prod-credential-reads-ask",))], ids=["dev", "prod"]
)
def test_secret_exfiltration_is_denied_everywhere(
    gateway: Gateway, env: str, also: tuple[str, ...]
) -> None:
    # In production the read alone would ask; the deny wins.
    assert decide(gateway, "dump_env_to_url", env) == ("deny", ("no-secret-exfiltration", *also))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_guard_tamper_is_denied_everywhere(gateway: Gateway, env: str) -> None:
    assert decide(gateway, "edit_hook", env) == ("deny", ("no-guard-tamper",))


def test_reading_a_secret_is_not_free_in_production(gateway: Gateway) -> None:
    decision, rules = decide(gateway, "read_secret", "prod")
    assert decision == "ask"
    assert "reads-are-free" not in rules


CREDENTIAL_READS = [
    pytest.param("Bash", {"command": "cat /etc/shadow"}, id="cat-shadow"),
    pytest.param("Bash", {"command": "cat ~/.aws/credentials"}, id="cat-aws-credentials"),
    pytest.param("Bash", {"command": "cat /etc//shadow"}, id="doubled-slash"),
    pytest.param("Bash", {"command": "head -n1 /etc/./shadow"}, id="dot-segment"),
    pytest.param("Bash", {"command": "cat /etc/gshadow"}, id="group-shadow"),
    pytest.param("Bash", {"command": "cat /etc/master.passwd"}, id="bsd-master-passwd"),
    pytest.param("Bash", {"command": "less /etc/ssl/private/site.key"}, id="tls-private-key"),
    pytest.param(
        "Bash",
        {"command": "cat ~/.config/gcloud/application_default_credentials.json"},
        id="gcloud-credentials",
    ),
    pytest.param("Read", {"file_path": "/home/me/.aws/credentials"}, id="file-tool"),
    pytest.param("Read", {"file_path": "/Users/me/.AWS/Credentials"}, id="file-tool-case"),
    pytest.param("Bash", {"command": "cd /etc && cat shadow"}, id="cd-then-relative"),
    pytest.param("Bash", {"command": "cat shadow", "cwd": "/etc"}, id="relative-to-cwd"),
    pytest.param("Bash", {"command": "cat $HOME/.aws/credentials"}, id="dollar-home"),
    pytest.param("Bash", {"command": 'cat "${HOME}/.ssh/id_rsa"'}, id="braced-home"),
    pytest.param("Bash", {"command": "cat ~user/.aws/credentials"}, id="tilde-user"),
    pytest.param("Bash", {"command": "grep root /etc/shadow"}, id="grep-pattern-first"),
    pytest.param("Bash", {"command": "cat ~/.AWS/credentials"}, id="letter-case"),
    pytest.param("Bash", {"command": "cat /tmp/x /etc/shadow"}, id="second-operand"),
    pytest.param("Bash", {"command": "cat ~/.aws/*"}, id="glob"),
    pytest.param("Bash", {"command": "grep -r token ~/.config/gcloud"}, id="directory-read-whole"),
]


@pytest.mark.parametrize(("tool", "input"), CREDENTIAL_READS)
def test_credential_reads_ask_in_production(
    gateway: Gateway, tool: str, input: dict[str, Any]
) -> None:
    assert decide(gateway, tool, "prod", **input) == ("ask", ("prod-credential-reads-ask",))


@pytest.mark.parametrize(("tool", "input"), CREDENTIAL_READS)
def test_a_developer_reads_their_own_credentials_in_dev(
    gateway: Gateway, tool: str, input: dict[str, Any]
) -> None:
    assert decide(gateway, tool, "dev", **input) == ("allow", ())


def test_dynamic_effects_ask_in_production_only(gateway: Gateway) -> None:
    assert decide(gateway, "eval_remote", "prod") == ("ask", ("prod-unknown-asks",))
    assert decide(gateway, "eval_remote", "dev")[0] == "allow"


def test_irreversible_production_delete_needs_two_distinct_approvers(gateway: Gateway) -> None:
    d = gateway.decide({"tool": "delete_file", "environment": "prod", "input": {"path": "/a"}})
    assert d.decision == "ask"
    (req,) = d.approvals
    assert (req.rule, req.quorum, req.timeout_seconds, req.on_timeout) == (
        "prod-irreversible-needs-two",
        2,
        1800,
        "deny",
    )
    assert d.instructions == ("Take a snapshot or backup first and put its id in the plan.",)


@pytest.mark.parametrize(
    "path",
    [
        "/home/me/project/watchkeeper.yaml",
        "/home/me/project/watchkeeper_test.yml",
        "/srv/.watchkeeper/keys/signing.key",
        "/srv/.watchkeeper",
        "/repo/.claude/settings.local.json",
        "/p/.claude//settings.json",
        "/p/.claude/./settings.json",
        "/p/.Claude/settings.json",
        "/p/WATCHKEEPER.yaml",
    ],
)
def test_file_tools_may_not_touch_watchkeeper_itself(gateway: Gateway, path: str) -> None:
    decision, rules = decide(gateway, "Write", "dev", file_path=path)
    assert decision == "deny"
    assert rules[0] == "no-guard-tamper-by-file-tools"


@pytest.mark.parametrize(
    "path", ["/repo/src/watchkeeper_client.py", "/repo/docs/watchkeeper.md", "/repo/notes.yaml"]
)
def test_ordinary_files_are_not_mistaken_for_watchkeeper_files(gateway: Gateway, path: str) -> None:
    assert decide(gateway, "Write", "dev", file_path=path, cwd="/repo") == ("allow", ())


def test_every_builtin_rule_is_exercised_by_its_shipped_tests(gateway: Gateway) -> None:
    shipped = run_cases(builtin(), CASES, Gateway(builtin()).decide)
    assert shipped.failed == []
    assert {rule for rule, n in shipped.coverage.items() if n == 0} == set()

"""The threshold's knowledge: where a path is, which work is routine, which holds have a name,
and where an action nothing places is judged."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watchkeeper.analyzers.concerns import command_concern, path_concern
from watchkeeper.analyzers.locations import locate, regenerable
from watchkeeper.analyzers.routine import routine_of
from watchkeeper.analyzers.shell import analyze
from watchkeeper.errors import OrdersError
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin, load, load_text

GATEWAY = Gateway(builtin())


def decide(command: str, env: str | None = None, **extra: str) -> tuple[str, tuple[str, ...]]:
    action: dict[str, object] = {"tool": "shell", "input": {"command": command, **extra}}
    if env is not None:
        action["environment"] = env
    d = GATEWAY.decide(action)
    return d.decision, d.rules


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("src/app.py", "workspace"),
        ("./src/../README.md", "workspace"),
        ("node_modules", "regenerable"),
        ("web/dist", "regenerable"),
        ("pkg.egg-info", "regenerable"),
        ("/tmp/out.log", "scratch"),
        ("/var/tmp/x", "scratch"),
        ("/tmp/../etc/passwd", "system"),
        ("~/.ssh/id_ed25519", "credentials"),
        ("$HOME/.aws/credentials", "credentials"),
        ("/home/me/.config/gcloud/x", "credentials"),
        ("~/.bashrc", "dotfiles"),
        ("~/Documents/thesis.tex", "home"),
        ("~", "home"),
        ("/Users/me/notes", "home"),
        ("/etc/nginx", "system"),
        ("/usr/local/bin/x", "system"),
        ("/var/lib/postgresql", "system"),
        ("/", "system"),
        ("../other-repo/x", "outside"),
        ("..", "outside"),
        (".", "workspace_root"),
        ("*", "workspace_root"),
        ("./*", "workspace_root"),
        (".git/config", "vcs"),
        ("sub/.git", "vcs"),
        ("/srv/prod/data", "elsewhere"),
        ("/mnt/backup", "elsewhere"),
        ("$TMPDIR/x", "unknown"),
        ("$(pwd)/x", "unknown"),
        ("`pwd`/x", "unknown"),
        ("", "unknown"),
        ("C:\\Windows\\System32", "elsewhere"),
    ],
)
def test_where_a_path_is(path: str, where: str) -> None:
    assert locate(path) == where


def test_an_absolute_path_inside_the_working_directory_is_the_workspace() -> None:
    assert locate("/home/me/app/src/x.py", cwd="/home/me/app") == "workspace"
    assert locate("/home/me/app", cwd="/home/me/app") == "workspace_root"
    assert locate("/home/me/app/../other/x", cwd="/home/me/app") == "home"
    assert locate("/home/me/application/x", cwd="/home/me/app") == "home"
    assert locate("/home/me/app/x", cwd="/") == "home"


@pytest.mark.parametrize(
    ("path", "again"),
    [
        ("node_modules", True),
        ("./build", True),
        ("packages/web/.next", True),
        ("build/", False),  # through a link named build, to wherever it points
        ("build/*", False),
        ("$DIR/build", False),
        ("../build", False),
        ("/etc/build", False),
        ("src", False),
    ],
)
def test_only_a_literal_artifact_name_is_regenerable(path: str, again: bool) -> None:
    assert regenerable(path) is again


@pytest.mark.parametrize(
    ("command", "reversible"),
    [
        ("rm -rf node_modules .venv __pycache__", {"yes"}),
        ("rm -rf build/", {"no"}),
        ("rm -rf build src", {"yes", "no"}),
        ('rm -rf "$X"/dist', {"no"}),
    ],
)
def test_deleting_regenerable_artifacts_is_recoverable(command: str, reversible: set[str]) -> None:
    assert {e.reversible for e in analyze(command) if e.verb == "delete"} == reversible


@pytest.mark.parametrize(
    ("tool", "words", "routine"),
    [
        ("pytest", ["-x", "tests/"], "tests"),
        ("mypy", ["--strict", "src"], "typecheck"),
        ("npm", ["test"], "tests"),
        ("npm", ["run", "lint"], "lint"),
        ("npm", ["run", "deploy"], None),
        ("npm", ["run", None], None),  # npm run "$X": any script
        ("npm", ["--prefix", "../other", "test"], None),
        ("make", ["test", "lint"], "tests"),
        ("make", [], None),  # the first recipe, whatever it is
        ("make", ["test", "deploy"], None),
        ("make", ["test", "CC=./evil"], None),
        ("make", ["-C", "/srv/prod", "test"], None),
        ("cargo", ["clippy"], "lint"),
        ("go", ["test", "./..."], "tests"),
        ("tox", [], "tests"),
        ("tox", ["-e", "deploy"], None),
        ("prettier", ["--write", "."], "format"),
        ("pytest", [None], None),
        ("rm", ["-rf", "x"], None),
    ],
)
def test_routine_work_is_a_table(tool: str, words: list[str | None], routine: str | None) -> None:
    assert routine_of(tool, words) == routine


@pytest.mark.parametrize(
    "command",
    ["pytest -x", "npm test", "cargo test", "go vet ./...", "uv run pytest -q", "npx jest",
     "poetry run mypy src", "make lint test", "ruff check src", "black --check ."],
)  # fmt: skip
def test_routine_work_is_free_even_in_production(command: str) -> None:
    assert decide(command, "prod")[0] == "allow"


@pytest.mark.parametrize(
    ("command", "held_by"),
    [
        ("make deploy", "prod-unknown-asks"),
        ("npm run release", "prod-unknown-asks"),
        ("black /etc/app/settings.py", None),  # a formatter outside the working tree
        ("./pytest", "prod-unknown-asks"),
    ],
)
def test_work_that_is_not_routine_is_still_held_in_production(
    command: str, held_by: str | None
) -> None:
    decision, rules = decide(command, "prod")
    assert decision == "ask"
    assert held_by is None or held_by in rules


@pytest.mark.parametrize(
    ("program", "words", "concern"),
    [
        ("iptables", ["-F"], "protection_off"),
        ("iptables", ["-P", "INPUT", "ACCEPT"], "protection_off"),
        ("iptables", ["-A", "INPUT", "-j", "DROP"], None),
        ("ufw", ["disable"], "protection_off"),
        ("setenforce", ["0"], "protection_off"),
        ("systemctl", ["stop", "firewalld"], "protection_off"),
        ("systemctl", ["disable", "--now", "auditd.service"], "logging_off"),
        ("systemctl", ["stop", "nginx"], "shutdown"),
        ("systemctl", ["restart", "nginx"], None),
        ("systemctl", ["reboot"], "shutdown"),
        ("service", ["rsyslog", "stop"], "logging_off"),
        ("shutdown", ["-h", "now"], "shutdown"),
        ("shutdown", ["-c"], None),
        ("kill", ["-9", "1"], "shutdown"),
        ("kill", ["1234"], None),
        ("chmod", ["u+s", "/bin/bash"], "root_access"),
        ("chmod", ["4755", "/usr/bin/find"], "root_access"),
        ("chmod", ["755", "x.sh"], None),
        ("usermod", ["-aG", "sudo", "bob"], "root_access"),
        ("usermod", ["-aG", "video", "bob"], None),
        ("visudo", [], "root_access"),
        ("auditctl", ["-e", "0"], "logging_off"),
        ("journalctl", ["--vacuum-time=1s"], "logging_off"),
        ("aws", ["iam", "attach-user-policy", "--user-name", "bob"], "grants_access"),
        ("aws", ["iam", "create-access-key"], "grants_access"),
        ("gcloud", ["projects", "add-iam-policy-binding", "p"], "grants_access"),
        ("aws", ["cloudtrail", "stop-logging", "--name", "x"], "logging_off"),
        ("aws", ["guardduty", "delete-detector"], "protection_off"),
        ("aws", ["backup", "delete-backup-vault"], "backups_off"),
        ("aws", ["rds", "delete-db-snapshot"], "backups_off"),
        ("aws", ["s3", "ls"], None),
        ("kubectl", ["create", "clusterrolebinding", "x"], "grants_access"),
        ("kubectl", ["delete", "networkpolicy", "deny-all"], "protection_off"),
        ("restic", ["forget", "--prune"], "backups_off"),
        ("zfs", ["destroy", "tank/data@daily"], "backups_off"),
        ("zfs", ["list"], None),
    ],
)
def test_holds_with_a_name(program: str, words: list[str], concern: str | None) -> None:
    assert command_concern(program, words) == concern


@pytest.mark.parametrize(
    ("path", "concern"),
    [
        ("/etc/sudoers", "root_access"),
        ("/etc/sudoers.d/90-agent", "root_access"),
        ("/etc/shadow", "root_access"),
        ("/var/log/auth.log", "logging_off"),
        ("/home/me/.bash_history", "logging_off"),
        ("/etc/selinux/config", "protection_off"),
        ("/etc/hosts", None),
        (None, None),
    ],
)
def test_files_with_a_name(path: str | None, concern: str | None) -> None:
    assert path_concern(path) == concern


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("aws iam attach-user-policy --user-name bob --policy-arn x", "access-grants-ask"),
        ("echo 'bob ALL=(ALL) NOPASSWD: ALL' | sudo tee -a /etc/sudoers.d/bob", "root-access-asks"),
        ("chmod u+s /bin/bash", "root-access-asks"),
        ("iptables -F", "protections-off-ask"),
        ("systemctl stop auditd", "logging-off-asks"),
        ("> /var/log/auth.log", "logging-off-asks"),
        ("restic forget --keep-last 1 --prune", "backups-off-ask"),
        ("systemctl stop nginx", "shutdowns-ask"),
    ],
)
@pytest.mark.parametrize("env", ["prod", "staging", None])
def test_every_named_hold_asks_with_its_reason(command: str, rule: str, env: str | None) -> None:
    decision, rules = decide(command, env)
    assert decision == "ask"
    assert rule in rules
    assert "prod-unknown-asks" not in rules  # recognised, not a fallback


def test_unknown_system_tools_are_no_longer_held_only_by_the_fallback() -> None:
    for command in ("iptables -F", "setenforce 0", "usermod -aG wheel bob", "visudo"):
        assert "prod-unknown-asks" not in decide(command, "prod")[1], command


# Placement: what nothing places is judged on the workstation.


@pytest.mark.parametrize(
    ("command", "env", "placed"),
    [
        ("rm -rf /etc/nginx", None, ("workstation",)),
        ("rm -rf /etc/nginx", "dev", ("dev", "workstation")),  # a claim places nothing
        ("rm -rf /etc/nginx", "prod", ("prod",)),  # the strictest claim needs no evidence
        ("terraform apply -destroy -auto-approve", "dev", ("dev", "workstation")),
        ("kubectl --context kind-x delete pod p", None, ("dev",)),
        ("kubectl --context kind-x delete pod p", "dev", ("dev",)),
        ("curl https://api.prod.example.com/x", None, ("prod",)),
        ("pytest", None, ("workstation",)),
    ],
)
def test_where_an_action_is_judged(command: str, env: str | None, placed: tuple[str, ...]) -> None:
    d = GATEWAY.decide(
        {"tool": "shell", "input": {"command": command}}
        | ({"environment": env} if env is not None else {})
    )
    assert d.environments == placed


@pytest.mark.parametrize(
    ("command", "env"),
    [
        ("terraform apply -destroy -auto-approve", "dev"),
        ("rm -r -f /etc/nginx", "dev"),
        ("echo 'x ALL=(ALL) ALL' >> /etc/sudoers", "dev"),
        ("chmod u+s /bin/bash", "dev"),
    ],
)
def test_the_dev_claims_of_the_report_are_held(command: str, env: str) -> None:
    assert decide(command, env)[0] == "ask"


def test_orders_without_a_fallback_judge_the_unplaced_everywhere() -> None:
    orders = load_text("environments:\n  prod: {default: ask}\n  dev: {default: allow}\n")
    d = Gateway(orders).decide({"tool": "shell", "input": {"command": "rm -rf /etc/nginx"}})
    assert d.decision == "ask"
    assert d.environments == ("prod", "dev")


def test_two_fallback_environments_are_refused_at_their_place(tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            environments:
              laptop: {default: allow, unplaced: true}
              desk: {default: allow, unplaced: true}
            rules: []
            """
        )
    )
    with pytest.raises(OrdersError) as caught:
        load(path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.col) == (3, 36)
    assert "'desk' says unplaced: true, and so does 'laptop'" in issue.message

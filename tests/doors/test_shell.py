"""``watchkeeper sh -c`` and ``watchkeeper exec --``, run as an agent's runner runs its shell:
allowed commands run with their own status and signals; held ones never start (exit 126)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.doors.conftest import cast

EXE = str(Path(sys.executable).with_name("watchkeeper"))


def run(
    *args: str, home: Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATCHKEEPER_") or k == "WATCHKEEPER_WARM"
    }
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60, check=False,
                          cwd=cwd or home, env={**base, "HOME": str(home), **env})  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").write_text("key", encoding="utf-8")
    return tmp_path


def test_an_allowed_command_runs_with_its_own_output_and_status(home: Path) -> None:
    done = run("sh", "-c", "echo out; echo err >&2; exit 3", home=home)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert run("sh", "-c", 'echo "$0 $1"', "zero", "one", home=home).stdout == "zero one\n"
    assert run("exec", "--", "true", home=home).returncode == 0
    assert run("exec", "--", "false", home=home).returncode == 1


def test_a_held_command_never_starts(home: Path) -> None:
    done = run("sh", "-c", "touch started; rm -rf ~/.ssh", home=home)
    assert done.returncode == 126
    assert "not run" in done.stderr
    assert "outside the working tree" in done.stderr
    assert not (home / "started").exists()
    assert (home / ".ssh" / "id_ed25519").exists()


def test_production_is_said_where_the_shell_is_configured(home: Path) -> None:
    done = run("sh", "-c", "terraform destroy -auto-approve", home=home,
               WATCHKEEPER_ENVIRONMENT="prod")  # fmt: skip
    assert done.returncode == 126
    assert "2 of the approvers" in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("sh", "script.sh"), {}, "-c only"),
        (("sh", "-c"), {}, "-c needs a command"),
        (("exec",), {}, "usage"),
        (("sh", "-c", "ls"), {"WATCHKEEPER_ORDERS": "/nonexistent.yaml"}, "nonexistent.yaml"),
        (("sh", "-c", "ls"), {"WATCHKEEPER_WAIT": "soon"}, "WATCHKEEPER_WAIT"),
        (("sh", "-c", "ls"), {"WATCHKEEPER_SERVER": "http://127.0.0.1:9",
                              "WATCHKEEPER_TOKEN": "k"}, "could not be asked"),
    ],
)  # fmt: skip
def test_every_failure_means_the_command_does_not_start(
    home: Path, args: tuple[str, ...], env: dict[str, str], said: str
) -> None:
    done = run(*args, home=home, **env)
    assert done.returncode == 126
    assert said in done.stderr


def test_a_command_killed_by_a_signal_is_seen_killed_by_it(home: Path) -> None:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATCHKEEPER_") or k == "WATCHKEEPER_WARM"
    }
    proc = subprocess.Popen([EXE, "sh", "-c", "echo $$ > pid; exec sleep 30"], cwd=home,
                            env={**base, "HOME": str(home)})  # fmt: skip
    deadline = time.monotonic() + 30
    while not (home / "pid").exists() or not (home / "pid").read_text().strip():
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.05)
    os.kill(int((home / "pid").read_text()), signal.SIGTERM)  # the command, not watchkeeper
    assert proc.wait(timeout=30) == -signal.SIGTERM


def test_signals_reach_the_command(home: Path) -> None:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATCHKEEPER_") or k == "WATCHKEEPER_WARM"
    }
    proc = subprocess.Popen([EXE, "sh", "-c", "trap 'echo got-int; exit 7' INT; touch ready; "
                             "while :; do sleep 0.1; done"], cwd=home, text=True,
                            stdout=subprocess.PIPE, env={**base, "HOME": str(home)})  # fmt: skip
    deadline = time.monotonic() + 30
    while not (home / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (7, "got-int\n")


@pytest.mark.socket
def test_on_a_server_a_held_command_waits_and_runs_once_approved(
    server: tuple[str, dict[str, str], str], home: Path
) -> None:
    base, env, alice = server
    target = home / "data"
    target.mkdir()
    wanted = {**{k: v for k, v in env.items() if k != "AUDITOR"},
              "WATCHKEEPER_ENVIRONMENT": "prod", "WATCHKEEPER_WAIT": "20"}  # fmt: skip
    proc = subprocess.Popen([EXE, "sh", "-c", f"rm -rf {target}; exit 5"], cwd=home,
                            env={**os.environ, **wanted, "HOME": str(home)},
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    people = {"Authorization": f"Bearer {alice}"}
    approval = None
    deadline = time.monotonic() + 20
    while approval is None and time.monotonic() < deadline:
        pending = httpx.get(f"{base}/v1/approvals", headers=people, timeout=10).json()
        approval = next((a["id"] for a in pending["approvals"]), None)
        time.sleep(0.1)
    assert approval is not None
    assert target.exists()  # held: not started while it waits
    cast(base, alice, approval, "approve")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 5, err
    assert not target.exists()
    auditor = {"Authorization": f"Bearer {env['AUDITOR']}"}
    events = httpx.get(f"{base}/v1/audit", headers=auditor, timeout=10).json()["events"]
    assert any("outcome" in e["kind"] and "failed" in str(e) for e in events)


@pytest.mark.parametrize("option", ["-kc", "-k", "-ac", "+o"])
def test_options_that_change_what_runs_are_refused(home: Path, option: str) -> None:
    args = ("sh", option, "-c", "touch started") if option in ("-k", "+o") else (
        "sh", option, "touch started")  # fmt: skip
    done = run(*args, home=home, WATCHKEEPER_SHELL="/bin/bash")
    assert done.returncode == 126
    assert not (home / "started").exists()


@pytest.mark.socket
def test_an_approval_covers_the_arguments_after_the_command(
    server: tuple[str, dict[str, str], str], home: Path
) -> None:
    base, env, alice = server
    for name in ("harmless", "important"):
        (home / name).mkdir()
    wanted = {**{k: v for k, v in env.items() if k != "AUDITOR"},
              "WATCHKEEPER_ENVIRONMENT": "prod", "WATCHKEEPER_WAIT": "0"}  # fmt: skip
    first = run("sh", "-c", 'rm -rf "$0"', str(home / "harmless"), home=home, **wanted)
    assert first.returncode == 126
    people = {"Authorization": f"Bearer {alice}"}
    pending = httpx.get(f"{base}/v1/approvals", headers=people, timeout=10).json()["approvals"]
    for approval in pending:
        cast(base, alice, approval["id"], "approve")
    other = run("sh", "-c", 'rm -rf "$0"', str(home / "important"), home=home, **wanted)
    assert other.returncode == 126  # its own call: the harmless one's approval is not its
    assert (home / "important").exists()

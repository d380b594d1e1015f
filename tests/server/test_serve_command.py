"""`watchkeeper serve` as a real process: the first admin, and what `make run` starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.server.conftest import _free_port

EXE = str(Path(sys.executable).with_name("watchkeeper"))


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    env = {**os.environ, "WATCHKEEPER_AUDIT_KEY": str(tmp_path / "audit.key")}
    proc = subprocess.Popen(
        [EXE, "serve", "--orders", str(ROOT / "examples" / "infra"), "--port", str(port),
         "--db", f"sqlite:///{tmp_path / 'wk.db'}", *args],
        env=env, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    return err


def test_the_first_admin_is_created_once_and_can_use_the_approver_commands(
    tmp_path: Path,
) -> None:
    proc, _ = start(tmp_path, "--admin", "admin@example.com")
    err = stop(proc)  # the banner is on stderr: read it once the process is done
    token = re.search(r"personal token:\s+(\S+)", err)
    password = re.search(r"one-time password:\s+(\S+)", err)
    assert token, err
    assert password, err
    assert len(token.group(1)) >= 22  # ≥ 128 bits
    proc, base = start(tmp_path, "--admin", "admin@example.com")
    try:
        listed = subprocess.run(
            [EXE, "approvals", "list", "--server", base, "--token", token.group(1)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        err = stop(proc)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no pending approvals"
    assert "admin admin@example.com exists" in err
    assert "personal token" not in err  # secrets are shown once


def test_make_run_serves_with_the_example_orders() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "watchkeeper serve --orders examples/infra --host 127.0.0.1 --port 8470" in run
    assert "--admin admin@example.com" in run


def test_the_first_admin_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from watchkeeper.cli.serve import _first_admin
    from watchkeeper.store.database import Store
    from watchkeeper.store.identities import Identities

    store = Store.open(f"sqlite:///{tmp_path / 'wk.db'}")
    try:
        _first_admin(store, "root@example.com", "http://127.0.0.1:8470")
        first = capsys.readouterr().err
        token = re.search(r"personal token:\s+(\S+)", first)
        assert token
        user = Identities(store).user_for(token.group(1))
        assert user is not None
        assert user.role == "admin"
        _first_admin(store, "root@example.com", "http://127.0.0.1:8470")
        assert "exists" in capsys.readouterr().err
    finally:
        store.close()


def test_serve_refuses_a_database_it_cannot_use() -> None:
    from typer.testing import CliRunner

    from watchkeeper.cli import app

    result = CliRunner().invoke(app, ["serve", "--db", "mysql://nope/x"])
    assert result.exit_code == 2
    assert "SQLite" in result.stderr

"""The audit commands in-process: what they print, and how they fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.conftest import HEAD
from watchkeeper.cli import app
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = Store.open(url)
    AuditLog(store).append([{"kind": "decision", "n": i, "decision": {"decision": "allow"}}
                            for i in range(9)])  # fmt: skip
    store.close()
    return {"WATCHKEEPER_DB": url, "WATCHKEEPER_AUDIT_KEY": str(tmp_path / "k")}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_the_commands_in_process(env: dict[str, str], tmp_path: Path) -> None:
    assert invoke(env, "db", "upgrade") == (0, f"schema at revision {HEAD}\n")
    code, note = invoke(env, "audit", "checkpoint")
    assert code == 0
    assert note.splitlines()[1] == "9"
    code, out = invoke(env, "audit", "checkpoint", "--json")
    assert json.loads(out)["note"] == note
    code, out = invoke(env, "audit", "verify")
    assert code == 0
    assert out.startswith(
        "ok: 9 events, 1 checkpoint, 1 kept outside the database (signatures checked)"
    )
    code, out = invoke(env, "audit", "key", "--json")
    key = json.loads(out)["key"]
    assert invoke(env, "audit", "verify", "--key", key)[0] == 0
    assert "--key" in invoke(env, "audit", "verify", "--key", "nonsense")[1]
    code, out = invoke(env, "audit", "show", "4")
    assert "event 4 (decision)" in out
    code, out = invoke(env, "audit", "show", "99")
    assert code == 1
    assert "the log holds 9 events" in out
    code, out = invoke(env, "audit", "tail", "-n", "3")
    assert [line.split()[0] for line in out.splitlines()] == ["6", "7", "8"]
    assert "decision allow" in out
    code, out = invoke(env, "audit", "tail", "-n", "1", "--json")
    assert json.loads(out)["index"] == 8
    target = tmp_path / "export.jsonl"
    assert invoke(env, "audit", "export", "-o", str(target), "--from", "5")[0] == 0
    assert [json.loads(x)["index"] for x in target.read_text().splitlines()] == [5, 6, 7, 8]
    code, out = invoke(env, "audit", "prove", "inclusion", "--index", "2")
    assert code == 0
    assert out.startswith("event 2 in 9 events")
    assert invoke(env, "audit", "prove", "inclusion", "--index", "20")[0] == 1
    assert invoke(env, "audit", "prove", "inclusion", "--index", "1", "--size", "50")[0] == 1
    code, out = invoke(env, "audit", "prove", "consistency", "--old", "3")
    assert code == 0
    assert out.startswith("3 → 9 events")
    assert invoke(env, "audit", "prove", "consistency", "--old", "3", "--new", "90")[0] == 1
    code, out = invoke(env, "audit", "prove", "consistency", "--old", "9", "--json")
    assert json.loads(out)["proof"] == []


def test_verify_without_a_key_says_so(env: dict[str, str]) -> None:
    code, out = invoke(env, "audit", "verify")
    assert code == 0
    assert "NOT checked" in out
    code, out = invoke(env, "audit", "verify", "--json")
    assert json.loads(out)["signatures_checked"] is False


def test_a_bad_database_url_is_a_usage_error(env: dict[str, str]) -> None:
    code, out = invoke({**env, "WATCHKEEPER_DB": "mysql://x/y"}, "audit", "verify")
    assert code == 2
    assert "SQLite" in out


def test_a_rewritten_log_is_not_signed(env: dict[str, str]) -> None:
    assert invoke(env, "audit", "checkpoint")[0] == 0
    store = Store.open(env["WATCHKEEPER_DB"])
    with store.engine.begin() as conn:
        for name in ("audit_leaves_no_delete", "audit_nodes_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        conn.exec_driver_sql("DROP TRIGGER audit_head_grows")
        conn.exec_driver_sql("DELETE FROM audit_leaves")
        conn.exec_driver_sql("DELETE FROM audit_nodes")
        conn.exec_driver_sql("UPDATE audit_head SET size = 0")
    AuditLog(store).append([{"kind": "decision", "n": 100 + i} for i in range(12)])
    store.close()
    code, out = invoke(env, "audit", "checkpoint")
    assert code == 1
    assert "refusing to sign" in out


def test_a_bad_setting_is_named(env: dict[str, str]) -> None:
    code, out = invoke({**env, "WATCHKEEPER_CHECKPOINT_EVERY": "often"}, "audit", "key")
    assert code == 2
    assert "WATCHKEEPER_CHECKPOINT_EVERY" in out

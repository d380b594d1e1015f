"""Decisions are recorded before they are returned: CLI, SDK, gateway, and failing closed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from watchkeeper import merkle
from watchkeeper.adapters.sdk import Watchkeeper
from watchkeeper.config import Settings
from watchkeeper.orders.loader import builtin
from watchkeeper.service import Service
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer, Verifier
from watchkeeper.store.database import Store

ROOT = Path(__file__).resolve().parents[2]
ACTION = {"tool": "shell", "environment": "prod", "input": {"command": "rm -rf /srv/data"}}


def test_the_service_records_action_and_decision_before_returning(
    store_url: str, tmp_path: Path
) -> None:
    settings = Settings(audit_key=str(tmp_path / "k"), checkpoint_every=2)
    service = Service.open(builtin(), Store.open(store_url), settings)
    recorder = service.recorder
    try:
        decision = service.submit(ACTION).decision
        log = AuditLog(recorder.store)
        [action, recorded] = [json.loads(leaf.event) for leaf in log.leaves()]
        assert action["kind"] == "action"
        assert action["action"] == ACTION
        assert recorded["decision"]["decision"] == decision.decision == "ask"
        assert recorded["decision"]["action_digest"] == decision.action_digest
        # Two events: a checkpoint is due, and is signed before the next decision is recorded.
        assert log.latest_checkpoint() is None
        service.submit(ACTION)
        assert (log.latest_checkpoint() or (0, ""))[0] == 2
        assert log.verify(recorder.signer.verifier if recorder.signer else None).ok
    finally:
        recorder.close()


def test_a_decision_that_cannot_be_recorded_is_a_deny(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db'}")
    service = Service.open(builtin(), store, Settings(audit_key=str(tmp_path / "k")))
    store.engine.dispose()
    (tmp_path / "db").unlink()
    (tmp_path / "db").mkdir()  # the database file is now a directory: every write fails
    store.engine.dispose()
    read_only = {**ACTION, "input": {"command": "ls"}}
    decision = service.submit(read_only).decision
    assert decision.decision == "deny"
    assert "could not be recorded in the audit log" in decision.reasons[0]


def test_invalid_actions_are_recorded_too(store_url: str, tmp_path: Path) -> None:
    store = Store.open(store_url)
    try:
        service = Service.open(builtin(), store, Settings(audit_key=str(tmp_path / "k")))
        decision = service.submit({"tool": 5}).decision
        assert decision.decision == "deny"
        kinds = [leaf.kind for leaf in AuditLog(store).leaves()]
        assert kinds == ["action", "decision"]
    finally:
        store.close()


def test_the_sdk_records_with_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHKEEPER_AUDIT_KEY", str(tmp_path / "k"))
    url = f"sqlite:///{tmp_path / 'sdk.db'}"
    wk = Watchkeeper(builtin(), db=url)
    wk.check({"tool": "shell", "environment": "prod", "input": {"command": "ls"}})
    store = Store.open(url)
    try:
        assert AuditLog(store).size() == 2
    finally:
        store.close()


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "watchkeeper"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), "WATCHKEEPER_WARM": "0"},
        check=False,
    )


def test_the_cli_records_verifies_and_proves(store_url: str, tmp_path: Path) -> None:
    db = ["--db", store_url]
    for _ in range(3):
        done = run("check", "--json", *db, cwd=tmp_path, stdin=json.dumps(ACTION))
        assert done.returncode == 0, done.stderr
    note = run("audit", "checkpoint", *db, cwd=tmp_path)
    assert note.returncode == 0, note.stderr
    key = run("audit", "key", cwd=tmp_path).stdout.strip()
    checkpoint = Verifier.parse(key).verify(note.stdout)
    assert checkpoint.size == 6
    verified = run("audit", "verify", "--json", *db, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["ok"] is True
    proof: dict[str, Any] = json.loads(
        run("audit", "prove", "inclusion", "--index", "3", "--json", *db, cwd=tmp_path).stdout
    )
    shown = json.loads(run("audit", "show", "3", "--json", *db, cwd=tmp_path).stdout)
    leaf = bytes.fromhex(proof["leaf_hash"])
    assert leaf == merkle.leaf_hash(
        json.dumps(
            shown["event"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    assert merkle.verify_inclusion(
        leaf, 3, 6, [bytes.fromhex(p) for p in proof["proof"]], checkpoint.root
    )
    consistency = json.loads(
        run(
            "audit", "prove", "consistency", "--old", "2", "--new", "6", "--json", *db, cwd=tmp_path
        ).stdout
    )
    assert set(consistency) == {"old", "new", "old_root", "new_root", "proof"}
    assert merkle.verify_consistency(
        2, 6, bytes.fromhex(consistency["old_root"]), checkpoint.root,
        [bytes.fromhex(p) for p in consistency["proof"]],
    )  # fmt: skip
    exported = run("audit", "export", *db, cwd=tmp_path).stdout.splitlines()
    assert [json.loads(line)["index"] for line in exported] == list(range(6))
    tail = run("audit", "tail", "-n", "2", *db, cwd=tmp_path).stdout.splitlines()
    assert len(tail) == 2
    assert "decision ask" in tail[-1]


def test_verify_fails_with_exit_1_and_names_the_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store.open(url)
    AuditLog(store).append([{"kind": "decision", "n": i} for i in range(5)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_leaves_no_update")
        conn.exec_driver_sql("UPDATE audit_leaves SET kind = 'x', event = '{}' WHERE idx = 2")
    store.close()
    done = run("audit", "verify", "--db", url, cwd=tmp_path)
    assert done.returncode == 1
    assert "first bad event: 2" in done.stdout


def test_the_offline_verifier_in_the_docs_works(store_url: str, tmp_path: Path) -> None:
    """docs/audit.md shows an auditor's checker: run it, as written, on a real proof."""
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # the documented code itself
    signer = Signer.load(tmp_path / "k", "docs.example/audit")
    store = Store.open(store_url)
    try:
        log = AuditLog(store)
        log.append([{"kind": "decision", "n": i} for i in range(11)])
        note = log.checkpoint(signer, "docs.example/audit")
        leaf = log.leaf(7)
        assert leaf is not None
        proof = {"index": 7, "size": 11, "proof": [p.hex() for p in log.inclusion_proof(7, 11)]}
        key = str(signer.verifier)
        assert namespace["check"](note, key, leaf.event, proof, "docs.example/audit")
        assert not namespace["check"](note, key, b'{"kind":"forged"}', proof, "docs.example/audit")
        assert not namespace["check"](note, key, leaf.event, proof, "another/log")
        assert not namespace["check"](note, key, leaf.event, {**proof, "index": 15},
                                      "docs.example/audit")  # fmt: skip
    finally:
        store.close()


def test_a_test_run_is_recorded(store_url: str, tmp_path: Path) -> None:
    done = run("test", "--db", store_url, str(ROOT / "examples" / "infra"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    store = Store.open(store_url)
    try:
        [leaf] = list(AuditLog(store).leaves())
    finally:
        store.close()
    event = json.loads(leaf.event)
    assert event["kind"] == "test_run"
    assert event["failed"] == 0
    assert event["orders_digest"].startswith("sha256:")

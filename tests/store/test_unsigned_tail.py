"""The unsigned tail: events after the newest signed checkpoint are reported as unprotected, and
a running server signs them within ``checkpoint_seconds`` even when nothing else arrives."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.server.conftest import ACTION, serving
from tests.store.test_audit import ORIGIN, events, tamper
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities
from watchkeeper.store.recorder import Recorder


def cut_the_tail(store: Store, keep: int) -> None:
    """What an insider can do to events no signature covers: remove them, unnoticed by the
    tree itself (the nodes above them go too, and the head says the smaller size)."""
    tamper(
        store,
        (f"DELETE FROM audit_leaves WHERE idx >= {keep}"),
        (f"DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > {keep}"),
        (f"UPDATE audit_head SET size = {keep}"),
    )


def test_events_after_the_newest_checkpoint_are_reported_unprotected(
    store: Store, tmp_path: Path
) -> None:
    signer = Signer.load(tmp_path / "audit.key", ORIGIN)
    log = AuditLog(store)
    log.append(events(8))
    log.checkpoint(signer, ORIGIN)
    log.append(events(3, 8))
    report = log.verify(signer.verifier)
    assert report.ok, report.problem
    assert (report.signed, report.unprotected) == (8, 3)
    assert report.unprotected_since is not None
    assert report.to_json()["unprotected"] == 3
    # The honest answer is what makes the cut visible: nothing vouched for those events.
    cut_the_tail(store, 9)
    after = AuditLog(store).verify(signer.verifier)
    assert after.ok, after.problem
    assert (after.size, after.unprotected) == (9, 1)
    log.checkpoint(signer, ORIGIN)
    assert AuditLog(store).verify(signer.verifier).unprotected == 0


def test_the_cli_calls_the_tail_unprotected_and_can_require_signatures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    env = {"WATCHKEEPER_DB": url, "WATCHKEEPER_AUDIT_KEY": str(tmp_path / "k")}
    store = Store.open(url)
    AuditLog(store).append(events(5))
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "UNPROTECTED: 5 events after the newest signed checkpoint (from event 0" in result.output
    assert runner.invoke(app, ["audit", "verify", "--require-signed"], env=env).exit_code == 1
    shown = json.loads(runner.invoke(app, ["audit", "verify", "--json"], env=env).output)
    assert (shown["ok"], shown["signed"], shown["unprotected"]) == (True, 0, 5)
    assert runner.invoke(app, ["audit", "checkpoint"], env=env).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", "--require-signed"], env=env)
    assert result.exit_code == 0, result.output
    assert "every event is covered by a signed checkpoint" in result.output
    assert "1 checkpoint," in result.output  # counted right


def test_the_tail_signer_counts_from_the_first_unsigned_event(store: Store, tmp_path: Path) -> None:
    recorder = Recorder(store, Signer.load(tmp_path / "k", ORIGIN), origin=ORIGIN,
                        checkpoint_seconds=10)  # fmt: skip
    log = AuditLog(store)
    log.append(events(2))
    # What is there at the first look may be of any age: signed at once.
    assert recorder.sign_tail(1.0, now=100.0) is not None
    assert recorder.sign_tail(1.0, now=101.0) is None  # nothing new
    log.append(events(1, 2))  # appended between the looks at 101 and 102
    assert recorder.sign_tail(1.0, now=102.0) is None  # counted from 101
    assert recorder.sign_tail(1.0, now=109.5) is None
    note = recorder.sign_tail(1.0, now=110.0)  # 101 + 10 - 1: within 10 s of the append
    assert note is not None
    assert note.splitlines()[1] == "3"
    assert log.verify().unprotected == 0


def test_an_idle_server_signs_the_tail_within_checkpoint_seconds(
    store_url: str, tmp_path: Path
) -> None:
    store = Store.open(store_url)
    key = Identities(store).add_agent("infra-bot")
    settings = Settings(audit_key=str(tmp_path / "audit.key"), checkpoint_seconds=2)
    try:
        with serving(store, settings) as base:
            time.sleep(2.5)  # long enough that the decision below finds a checkpoint due
            answer = httpx.post(base + "/v1/actions", json=ACTION, timeout=10,
                                headers={"Authorization": f"Bearer {key}"})  # fmt: skip
            assert answer.status_code == 200
            size = AuditLog(store).size()
            deadline = time.monotonic() + 2 + 1.5  # checkpoint_seconds, and time to sign
            signed = 0
            while time.monotonic() < deadline:
                with store.reading() as conn:
                    signed = AuditLog(store).signed_size(conn)
                if signed >= size:
                    break
                time.sleep(0.1)
            assert signed >= size, f"{size - signed} events still unsigned, nothing arriving"
        verifier = Signer.load(settings.audit_key, settings.audit_origin).verifier
        report = AuditLog(store).verify(verifier)
        assert report.ok, report.problem
        assert report.unprotected == 0
        with store.reading() as conn:
            kinds = [r[0] for r in conn.execute(text("SELECT kind FROM audit_leaves"))]
        assert "decision" in kinds
    finally:
        store.close()

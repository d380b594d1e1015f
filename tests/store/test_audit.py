"""The audit log on SQLite and PostgreSQL: appends, proofs, checkpoints, and every tamper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from watchkeeper import merkle
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import CheckpointError, Signer, Verifier, parse
from watchkeeper.store.database import Store

ORIGIN = "test.example/audit"


def events(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"kind": "decision", "n": i, "time": f"t{i}"} for i in range(start, start + n)]


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(tmp_path / "audit.key", ORIGIN)


def filled(store: Store, signer: Signer, n: int = 40) -> AuditLog:
    log = AuditLog(store)
    log.append(events(n // 2))
    log.checkpoint(signer, ORIGIN)
    log.append(events(n - n // 2, n // 2))
    log.checkpoint(signer, ORIGIN)
    return log


def test_indexes_have_no_gaps_and_roots_match_the_events(store: Store) -> None:
    log = AuditLog(store)
    assert log.append(events(3)) == [0, 1, 2]
    assert log.append(events(2, 3)) == [3, 4]
    assert log.append([]) == []
    leaves = [leaf.event for leaf in log.leaves()]
    assert [json.loads(e)["n"] for e in leaves] == [0, 1, 2, 3, 4]
    nodes: dict[tuple[int, int], bytes] = {}
    for i, data in enumerate(leaves):
        for level, index, digest in merkle.completed(i, merkle.leaf_hash(data), nodes.get):
            nodes[level, index] = digest
    assert log.root(5) == merkle.root(5, nodes.get)
    for i in range(5):
        proof = log.inclusion_proof(i, 5)
        assert merkle.verify_inclusion(merkle.leaf_hash(leaves[i]), i, 5, proof, log.root(5))
    assert merkle.verify_consistency(2, 5, log.root(2), log.root(5), log.consistency_proof(2, 5))


def test_an_event_needs_a_kind(store: Store) -> None:
    with pytest.raises(ValueError, match="'kind'"):
        AuditLog(store).append([{"no": "kind"}])
    assert AuditLog(store).size() == 0  # nothing half-written


def test_checkpoints_are_signed_notes_that_verify(store: Store, signer: Signer) -> None:
    log = filled(store, signer)
    (_, note) = log.latest_checkpoint() or (0, "")
    checkpoint = Verifier.parse(str(signer.verifier)).verify(note)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 40, log.root(40))
    assert log.checkpoint(signer, ORIGIN) == note  # nothing new: the same note
    report = log.verify(signer.verifier)
    assert report.ok, report.problem
    assert (report.size, report.checkpoints) == (40, 2)


def test_the_append_only_triggers_refuse_changes(store: Store, signer: Signer) -> None:
    filled(store, signer, 4)
    for statement in (
        "UPDATE audit_leaves SET kind = 'x' WHERE idx = 0",
        "DELETE FROM audit_leaves WHERE idx = 3",
        "UPDATE audit_nodes SET hash = hash WHERE level = 1",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_head SET size = 1",
        "DELETE FROM audit_head",
    ):
        with pytest.raises(DBAPIError, match="watchkeeper"), store.writing() as conn:
            conn.execute(text(statement))
    assert AuditLog(store).verify(signer.verifier).ok


# ── tampering: an insider with the database, triggers switched off ─────────────────────────


Statement = str | tuple[str, dict[str, Any]]


def tamper(store: Store, *statements: Statement) -> None:
    """Run ``statements`` as someone who can switch the triggers off."""
    with store.writing() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for (name,) in names.all():
                conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            sql, params = (statement, {}) if isinstance(statement, str) else statement
            conn.execute(text(sql), params)


def flip(store: Store, index: int) -> tuple[str, dict[str, Any]]:
    with store.reading() as conn:
        event = conn.execute(
            text("SELECT event FROM audit_leaves WHERE idx = :i"), {"i": index}
        ).scalar_one()
    changed = event.replace('"decision"', '"decisioN"')
    return "UPDATE audit_leaves SET event = :e WHERE idx = :i", {"e": changed, "i": index}


@pytest.mark.parametrize(
    ("name", "expect_index"),
    [
        ("flip-a-byte", 13),
        ("flip-a-byte-and-its-leaf-hash", 13),
        ("delete-a-row", 13),
        ("insert-a-row", 40),
        ("swap-two-rows", 4),  # the pair 4-5 no longer hashes to its stored parent
        ("truncate-the-tail", None),
        ("replace-a-checkpoint", None),
        ("rebuild-the-tree", None),
    ],
)
def test_every_tamper_is_found_and_named(
    store: Store, signer: Signer, name: str, expect_index: int | None, tmp_path: Path
) -> None:
    log = filled(store, signer)
    if name == "flip-a-byte":
        tamper(store, flip(store, 13))
    elif name == "flip-a-byte-and-its-leaf-hash":
        # The leaf hash recomputed to match: the tree's stored nodes still disagree.
        with store.reading() as conn:
            event = conn.execute(text("SELECT event FROM audit_leaves WHERE idx = 13")).scalar()
        forged = event.replace('"decision"', '"decisioN"').encode()
        rehash = ("UPDATE audit_leaves SET leaf_hash = :h WHERE idx = 13",
                  {"h": merkle.leaf_hash(forged)})  # fmt: skip
        tamper(store, flip(store, 13), rehash)
    elif name == "delete-a-row":
        tamper(store, "DELETE FROM audit_leaves WHERE idx = 13")
    elif name == "insert-a-row":
        tamper(
            store,
            "INSERT INTO audit_leaves (idx, kind, event, leaf_hash) "
            "SELECT 40, kind, event, leaf_hash FROM audit_leaves WHERE idx = 0",
        )
    elif name == "swap-two-rows":
        tamper(
            store,
            "UPDATE audit_leaves SET idx = -1 WHERE idx = 5",
            "UPDATE audit_leaves SET idx = 5 WHERE idx = 9",
            "UPDATE audit_leaves SET idx = 9 WHERE idx = -1",
        )
    elif name == "truncate-the-tail":
        tamper(
            store,
            "DELETE FROM audit_leaves WHERE idx >= 30",
            "DELETE FROM audit_nodes WHERE idx >= 0 AND level = 0 AND idx >= 30",
            "UPDATE audit_head SET size = 30",
        )
    elif name == "replace-a-checkpoint":
        other = Signer.load(tmp_path / "other.key", ORIGIN)  # same name, another key
        forged_note = other.sign(ORIGIN, 20, log.root(20))
        tamper(
            store, ("UPDATE audit_checkpoints SET note = :n WHERE size = 20", {"n": forged_note})
        )
    elif name == "rebuild-the-tree":
        # Change an event and recompute every hash above it: only the checkpoints can tell.
        fresh = AuditLog(store)
        forged = [json.loads(leaf.event) for leaf in fresh.leaves()]
        forged[3]["n"] = 999
        tamper(store, "DELETE FROM audit_leaves", "DELETE FROM audit_nodes",
               "UPDATE audit_head SET size = 0")  # fmt: skip
        fresh.append(forged)
    report = AuditLog(store).verify(signer.verifier)
    assert not report.ok, name
    if expect_index is not None:
        assert report.first_bad_index == expect_index, report.problem
    assert report.problem


def test_a_changed_field_in_the_last_event_of_an_odd_log_is_found_by_its_leaf_hash(
    store: Store, signer: Signer
) -> None:
    # The last event of an odd-sized log has no stored parent, and a checkpoint's root is read
    # from the stored leaf hash: only comparing the event with its leaf hash can catch this.
    log = AuditLog(store)
    log.append(events(41))
    log.checkpoint(signer, ORIGIN)
    with store.reading() as conn:
        event = conn.execute(text("SELECT event FROM audit_leaves WHERE idx = 40")).scalar_one()
    assert '"n":40' in event
    forged = event.replace('"n":40', '"n":41')  # not the kind: another field
    tamper(store, ("UPDATE audit_leaves SET event = :e WHERE idx = 40", {"e": forged}))
    report = AuditLog(store).verify(signer.verifier)
    assert not report.ok
    assert report.problem == "event 40 does not match its leaf hash"
    assert report.first_bad_index == 40


def test_a_tail_cut_under_a_checkpoint_is_named(store: Store, signer: Signer) -> None:
    filled(store, signer)  # checkpoints at 20 and 40
    tamper(  # cut cleanly: the events, every node above them, the head
        store,
        "DELETE FROM audit_leaves WHERE idx >= 30",
        "DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 30",
        "UPDATE audit_head SET size = 30",
    )
    report = AuditLog(store).verify(signer.verifier)
    assert report.problem == "checkpoint at 40 events, but the log holds 30: the tail was cut"
    assert report.first_bad_index == 30


def test_a_forked_log_is_caught_by_a_checkpoint_from_the_other(
    store: Store, signer: Signer, tmp_path: Path
) -> None:
    # Two logs of the same size with different events: a checkpoint published from one does not
    # verify against the other, and its root does not match.
    log = filled(store, signer, 10)
    (_, published) = log.latest_checkpoint() or (0, "")
    other = Store.open(f"sqlite:///{tmp_path / 'fork.db'}")
    try:
        fork = AuditLog(other)
        fork.append([*events(5), {"kind": "decision", "n": 5, "time": "forged"}, *events(4, 6)])
        assert fork.size() == 10
        assert fork.root(10) != parse(published).root
    finally:
        other.close()


def test_a_rewritten_log_is_not_signed(store: Store, signer: Signer) -> None:
    log = filled(store, signer, 10)
    tamper(store, "DELETE FROM audit_leaves", "DELETE FROM audit_nodes",
           "UPDATE audit_head SET size = 0")  # fmt: skip
    log.append(events(12, 100))
    with pytest.raises(RuntimeError, match="rewritten"):
        log.checkpoint(signer, ORIGIN)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    Signer.load(path, ORIGIN)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(CheckpointError, match="chmod 600"):
        Signer.load(path, ORIGIN)


def test_group_commit_shares_transactions_and_keeps_indexes_gap_free(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from watchkeeper.store.audit import GroupCommit

    group = GroupCommit(AuditLog(store))
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: group.append(events(1 + i % 3, i * 10)), range(60)))
    finally:
        group.close()
    indexes = sorted(i for r in results for i in r)
    assert indexes == list(range(len(indexes)))
    log = AuditLog(store)
    for i, r in enumerate(results):  # each caller got the indexes of its own events
        assert [json.loads(log.leaf(x).event)["n"] for x in r] == [  # type: ignore[union-attr]
            i * 10 + k for k in range(1 + i % 3)
        ]
    assert log.verify().ok


def test_a_failed_group_fails_each_waiter(store: Store) -> None:
    from watchkeeper.store.audit import GroupCommit

    group = GroupCommit(AuditLog(store))
    try:
        with pytest.raises(ValueError, match="'kind'"):
            group.append([{"no": "kind"}])
        assert group.append(events(1)) == [0]  # the next group commits
    finally:
        group.close()


def test_an_item_whose_work_fails_is_undone_alone_and_the_group_commits(store: Store) -> None:
    from sqlalchemy import insert

    from watchkeeper.store.schema import pauses

    log = AuditLog(store)
    log.append(events(3))  # an edge to extend

    def record(conn: Any, indexes: list[int]) -> None:  # state written with the events
        conn.execute(insert(pauses).values(id=f"p{indexes[0]}", scope="all", target="",
                                           reason="r", paused_by="x"))  # fmt: skip

    def refuse(conn: Any, indexes: list[int]) -> None:
        record(conn, indexes)
        raise LookupError("refused after writing")

    def more(conn: Any, indexes: list[int]) -> None:  # appends more, as an approval does
        AuditLog(store).append_in(conn, events(2, 500))

    def closed(conn: Any) -> None:
        raise PermissionError("not admitted")

    results = log.append_each(
        [(events(2, 10), record, None), (events(2, 20), refuse, None),
         (events(1, 30), more, None), (events(2, 40), None, None),
         (events(2, 60), None, closed), (events(1, 70), None, lambda conn: None)]
    )  # fmt: skip
    # Plain items first, in one append; then each item with work, in its savepoint.
    assert results[3] == [3, 4]
    assert results[5] == [5]
    assert isinstance(results[4], PermissionError)  # refused before writing: no gap
    assert results[0] == [6, 7]
    assert isinstance(results[1], LookupError)
    assert results[2] == [8]  # the rolled-back item left no gap
    with store.reading() as conn:
        kept = sorted(r[0] for r in conn.execute(text("SELECT id FROM pauses")))
    assert kept == ["p6"]  # the refused item's write was rolled back with its events
    fresh = AuditLog(store)
    assert [json.loads(leaf.event)["n"] for leaf in fresh.leaves()] == [
        0, 1, 2, 40, 41, 70, 10, 11, 30, 500, 501
    ]  # fmt: skip
    assert fresh.verify().ok
    assert log.append(events(1, 50)) == [11]  # the kept edge is still true
    assert AuditLog(store).verify().ok


def test_group_commit_runs_each_appenders_work_and_fails_only_its_own(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from watchkeeper.store.audit import GroupCommit

    group = GroupCommit(AuditLog(store))

    def append(i: int) -> list[int] | str:
        def work(conn: Any, indexes: list[int]) -> None:
            if i % 5 == 0:
                raise LookupError(f"no {i}")

        try:
            return group.append(events(2, i * 10), work)
        except LookupError as exc:
            return str(exc)

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(append, range(40)))
    finally:
        group.close()
    assert [r for r in results if isinstance(r, str)] == [f"no {i}" for i in range(0, 40, 5)]
    indexes = sorted(x for r in results if isinstance(r, list) for x in r)
    assert indexes == list(range(64))
    assert AuditLog(store).verify().ok


# ── found by a review of the audit log ───────────────────────────────────────────────────────


def test_deleting_the_checkpoints_and_rebuilding_is_caught_by_the_note_beside_the_key(
    store: Store, signer: Signer
) -> None:
    log = filled(store, signer, 10)
    fresh = AuditLog(store)
    forged = [json.loads(leaf.event) for leaf in fresh.leaves()]
    forged[3]["n"] = 999
    tamper(store, "DELETE FROM audit_leaves", "DELETE FROM audit_nodes",
           "DELETE FROM audit_checkpoints", "UPDATE audit_head SET size = 0")  # fmt: skip
    fresh.append(forged)
    assert signer.pinned is not None
    kept = signer.pinned.read_text()
    report = log.verify(signer.verifier, [kept])
    assert not report.ok
    assert "published checkpoint" in (report.problem or "")
    with pytest.raises(RuntimeError, match="rewritten"):
        log.checkpoint(signer, ORIGIN)  # the note beside the key is signed; the rows were not


def test_a_forged_root_column_does_not_fool_the_signer(store: Store, signer: Signer) -> None:
    log = filled(store, signer, 10)
    tamper(store, ("UPDATE audit_checkpoints SET root = :r", {"r": bytes(32)}))
    log.append(events(2, 50))
    assert log.checkpoint(signer, ORIGIN)  # judged by the signed note, not the column
    assert not log.verify(signer.verifier).ok  # and verify sees the column disagree


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO audit_nodes (level, idx, hash) SELECT 40, 0, hash FROM audit_nodes "
        "WHERE level = 1 AND idx = 0",
        "INSERT INTO audit_nodes (level, idx, hash) SELECT 1, -1, hash FROM audit_nodes "
        "WHERE level = 1 AND idx = 0",
        "INSERT INTO audit_nodes (level, idx, hash) SELECT 0, 3, hash FROM audit_nodes "
        "WHERE level = 1 AND idx = 0",
        "INSERT INTO audit_leaves (idx, kind, event, leaf_hash) "
        "SELECT -5, kind, event, leaf_hash FROM audit_leaves WHERE idx = 0",
        "UPDATE audit_leaves SET kind = 'grant' WHERE idx = 2",
        "INSERT INTO audit_head (id, size) VALUES (2, 1)",
    ],
)
def test_rows_outside_the_tree_and_changed_kinds_are_found(
    store: Store, signer: Signer, statement: str
) -> None:
    filled(store, signer, 10)
    tamper(store, statement)
    assert not AuditLog(store).verify(signer.verifier).ok


def test_a_failed_transaction_does_not_poison_the_next_append(store: Store) -> None:
    log = AuditLog(store)
    log.append(events(3))

    class Boom(Exception):
        pass

    def fail_after_appending() -> None:
        with store.writing() as conn:
            log.append_in(conn, events(2, 3))
            raise Boom

    with pytest.raises(Boom):
        fail_after_appending()
    log.append(events(2, 3))  # the same size the failed one would have reached
    assert log.verify().ok


def test_verify_reads_one_snapshot_while_others_append(store: Store) -> None:
    import threading

    log = AuditLog(store)
    log.append(events(200))
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            AuditLog(store).append(events(5, 1000))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(5):
            report = log.verify()
            assert report.ok, report.problem
    finally:
        stop.set()
        thread.join()


def test_a_recorder_that_cannot_checkpoint_records_a_deny(store_url: str, tmp_path: Path) -> None:
    from watchkeeper.config import Settings
    from watchkeeper.orders.loader import builtin
    from watchkeeper.service import Service

    settings = Settings(audit_key=str(tmp_path / "k"), checkpoint_every=1)
    service = Service.open(builtin(), Store.open(store_url), settings)
    recorder = service.recorder
    try:
        action = {"tool": "shell", "environment": "prod", "input": {"command": "ls"}}
        assert service.submit(action).decision.decision == "allow"
        assert service.submit(action).decision.decision == "allow"  # signs the first checkpoint
        tamper(recorder.store, "DELETE FROM audit_leaves",
               "DELETE FROM audit_nodes", "UPDATE audit_head SET size = 0")  # fmt: skip
        recorder.log.append(events(4))
        decision = service.submit(action).decision
        assert decision.decision == "deny"
        assert "cannot be checkpointed" in decision.reasons[0]
        last = json.loads(list(recorder.log.leaves())[-1].event)
        assert last["decision"]["decision"] == "deny"  # what was returned is what is recorded
    finally:
        recorder.close()


def test_a_caller_that_gave_up_is_left_out_of_its_group(store: Store) -> None:
    import threading

    from watchkeeper.store.audit import GroupCommit

    group = GroupCommit(AuditLog(store))
    holding, release = threading.Event(), threading.Event()

    def hold(_conn: object) -> None:  # keeps the first group's transaction open
        holding.set()
        assert release.wait(10)

    try:
        first = group.submit(events(1, 0), admit=hold)
        assert holding.wait(10)
        gave_up, kept = group.submit(events(1, 100)), group.submit(events(1, 200))
        assert gave_up.cancel()  # still waiting for its group: it can be withdrawn
        release.set()
        assert first.result(10) == [0]
        assert kept.result(10) == [1]  # the next group commits without the withdrawn one
    finally:
        group.close()
    log = AuditLog(store)
    assert [json.loads(leaf.event)["n"] for leaf in log.leaves()] == [0, 200]
    assert log.verify().ok


def test_a_due_checkpoint_is_signed_once_however_many_record_at_that_moment(
    store_url: str, tmp_path: Path
) -> None:
    import threading

    from watchkeeper.decision import Decision
    from watchkeeper.store.recorder import Recorder

    seed = Store.open(store_url)
    AuditLog(seed).append(events(60))
    seed.close()
    store = Store.open(store_url)
    recorder = Recorder(
        store, Signer.load(tmp_path / "k", ORIGIN), checkpoint_every=50,
        checkpoint_seconds=3600, group_commit=True,
    )  # fmt: skip
    decision = Decision.fail_closed("a recorded refusal", orders_digest="sha256:" + "0" * 64)
    start = threading.Barrier(12)
    answers: list[str] = []

    def record() -> None:
        start.wait()
        answers.append(recorder.record_indexed({"tool": "t"}, decision)[0].decision)

    try:
        threads = [threading.Thread(target=record) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == ["deny"] * 12
        assert len(recorder.log.checkpoints()) == 1  # not one per thread that saw it due
        assert recorder.log.size() == 60 + 24
    finally:
        recorder.close()


def test_a_checkpoint_that_failed_refuses_everyone_until_it_is_signed(
    store_url: str, tmp_path: Path
) -> None:
    import threading

    from watchkeeper.config import Settings
    from watchkeeper.orders.loader import builtin
    from watchkeeper.service import Service

    store = Store.open(store_url)
    settings = Settings(audit_key=str(tmp_path / "k"), audit_origin=ORIGIN, checkpoint_every=1)
    service = Service.open(builtin(), store, settings, group_commit=True)
    recorder = service.recorder
    action = {"tool": "shell", "environment": "prod", "input": {"command": "ls"}}
    try:
        assert service.submit(action).decision.decision == "allow"
        assert service.submit(action).decision.decision == "allow"  # signs the first checkpoint
        tamper(store, "DELETE FROM audit_leaves", "DELETE FROM audit_nodes",
               "UPDATE audit_head SET size = 0")  # fmt: skip
        recorder.log.append(events(4))
        assert service.submit(action).decision.decision == "deny"  # found out, and remembered
        answers: list[str] = []
        start = threading.Barrier(8)

        def submit() -> None:
            start.wait()
            answers.append(service.submit(action).decision.decision)

        threads = [threading.Thread(target=submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == ["deny"] * 8  # while one retries, the others do not slip past
    finally:
        recorder.close()

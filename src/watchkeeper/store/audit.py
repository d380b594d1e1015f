"""The audit log: events as leaves of an RFC 9162 Merkle tree, appended with no gaps.

    log = AuditLog(Store.open(url))
    [i] = log.append([{"kind": "decision", "decision": "deny", …}])   # durable on return
    log.root(log.size())                      # tree head, 32 bytes
    log.inclusion_proof(i, log.size())        # [32-byte hashes], RFC 9162 order
    report = log.verify()                     # recompute everything; report.ok, report.problem

An event is a JSON object with a ``kind``; the leaf is its canonical JSON, with a ``time`` added
when it has none. Appending takes the head row's lock, so indexes are allocated in the same
transaction as the rows, in order, with no gaps; ``append_in`` does so inside a caller's
transaction, so a state change and the event recording it commit together or not at all.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from hashlib import sha256 as _sha256
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, tuple_

from watchkeeper import merkle
from watchkeeper.canonical import canonical_json
from watchkeeper.store.database import Store
from watchkeeper.store.schema import (
    audit_checkpoints,
    audit_head,
    audit_leaves,
    audit_nodes,
    audit_refs,
)

#: Leaves read per round trip when verifying or exporting.
_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Leaf:
    """One stored event."""

    index: int
    kind: str
    event: bytes  # the canonical JSON that was hashed
    leaf_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "leaf_hash": self.leaf_hash.hex(),
            "event": json.loads(self.event),
        }


@dataclass
class VerifyReport:
    """What ``verify`` found: ``ok``, or the first problem and where."""

    size: int = 0
    leaves: int = 0
    checkpoints: int = 0
    published: int = 0  # signed notes kept outside the database, checked too
    root: bytes = merkle.EMPTY_ROOT
    problem: str | None = None
    first_bad_index: int | None = None
    notes: list[str] = field(default_factory=list)
    #: Events the newest checkpoint (or note kept outside) covers: up to here, a change or a
    #: cut is caught by a signature. Past it nothing vouches for the events yet.
    signed: int = 0
    #: When the first event no signature covers was recorded (the database's clock), if any.
    unprotected_since: str | None = None
    #: State rows (approvals, votes, pauses, identities) that disagree with the log's events.
    disagreements: list[str] = field(default_factory=list)

    @property
    def unprotected(self) -> int:
        """Events no signed checkpoint covers yet: they could be edited or cut unnoticed."""
        return max(self.size - self.signed, 0)

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.disagreements

    def fail(self, problem: str, index: int | None = None) -> VerifyReport:
        if self.problem is None:
            self.problem, self.first_bad_index = problem, index
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "leaves": self.leaves,
            "checkpoints": self.checkpoints,
            "published": self.published,
            "root": self.root.hex(),
            "problem": self.problem,
            "first_bad_index": self.first_bad_index,
            "signed": self.signed,
            "unprotected": self.unprotected,
            "unprotected_since": self.unprotected_since,
            "disagreements": self.disagreements,
        }


def event_bytes(event: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an event, refusing one without a string ``kind``."""
    kind = event.get("kind")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise ValueError(
            f"an audit event needs a 'kind' string of 1 to 64 characters, not {kind!r}"
        )
    return canonical_json(dict(event))


def now() -> str:
    """UTC time as RFC 3339 with microseconds: what events carry as ``time``."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


#: The most effect targets of one decision indexed (``target:``): enough to find the same
#: table or resource again, bounded for a plan that deletes thousands.
TARGETS_INDEXED = 20


def subjects(event: Mapping[str, Any]) -> list[str]:
    """What an event is about, as :data:`~watchkeeper.store.schema.audit_refs` indexes it:
    ``approval:<id>`` for the approval it names, and for each one a pause cancelled;
    ``case:<id>`` for the case it names; for an alert, ``watch:<rule>``; for an
    action, ``agent:<name>``, ``session:<agent>/<session>`` and ``tool:<name>``; for a
    decision, ``rule:<name>`` for each rule and ``target:<kind>:<id>`` for each effect's
    target (the first :data:`TARGETS_INDEXED`). The handoff packet finds a session's earlier
    actions and past decisions on the same rule, tool or target through them."""
    out = []
    approval = event.get("approval")
    if isinstance(approval, str):
        out.append(f"approval:{approval}")
    case = event.get("case")
    if isinstance(case, str):
        out.append(f"case:{case}")
    kind = event.get("kind")
    if kind == "pause":
        out.extend(f"approval:{a}" for a in event.get("cancelled") or () if isinstance(a, str))
    elif kind == "alert" and _named(rule := event.get("rule")):
        out.append(f"watch:{rule}")  # not agent:, which indexes the agent's actions
    elif kind == "action" and isinstance(action := event.get("action"), Mapping):
        agent, session, tool = action.get("agent"), action.get("session"), action.get("tool")
        if _named(agent):
            out.append(f"agent:{agent}")
            if _named(session):
                out.append(f"session:{agent}/{session}")
        if _named(tool):
            out.append(f"tool:{tool}")
    elif kind == "decision" and isinstance(decision := event.get("decision"), Mapping):
        out.extend(f"rule:{rule}" for rule in decision.get("rules") or () if _named(rule))
        targets = []
        for effect in decision.get("effects") or ():
            target = effect.get("target") if isinstance(effect, Mapping) else None
            if isinstance(target, Mapping) and _named(target.get("id")):
                targets.append(f"target:{target.get('kind')}:{target['id']}")
        out.extend(dict.fromkeys(targets[:TARGETS_INDEXED]))
    # The index's column holds 240 characters; a longer subject is not indexed at all.
    return list(dict.fromkeys(s for s in out if len(s) <= 240))


def _named(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 0


#: Work done in an append's transaction: ``work(conn, indexes)`` (the state change the events
#: record). It may raise to undo its item.
Work = Callable[[Connection, list[int]], None]
#: A check under the log's lock before an append writes its events: ``admit(conn)`` raises
#: to refuse it, or returns the events to append instead (``None``: as given). It may write
#: (what it finds, in force over the events, such as a watch rule's pause).
Admit = Callable[[Connection], "Sequence[Mapping[str, Any]] | None"]
#: One append among several sharing a transaction: its events, its work, its check.
Item = tuple[Sequence[Mapping[str, Any]], Work | None, Admit | None]


class AuditLog:
    """The audit log of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # The right edge of the tree after the last committed append through this object: the
        # nodes the next leaves pair with, trusted only while the head says the same size.
        # One tuple, replaced whole, so threads never see half of it.
        self._edge_state: tuple[int, dict[tuple[int, int], bytes]] = (-1, {})

    # ── writing ──────────────────────────────────────────────────────────────────────────

    def append(
        self,
        events: Sequence[Mapping[str, Any]],
        within: Work | None = None,
        admit: Admit | None = None,
    ) -> list[int]:
        """Append ``events`` in one transaction; their indexes, once it has committed.

        ``admit(conn)`` runs first, under the log's lock, before anything is written: it raises
        to refuse the append (a pause that came into force). ``within(conn, indexes)`` runs
        after the events, in the same transaction: the state change they record (an approval,
        a vote) commits with them or not at all.
        """
        with self.store.writing() as conn:
            if admit is not None:
                self._lock_head(conn)
                events = admit(conn) or events
            indexes, edge = self._append(conn, events)
            if within is not None:
                within(conn, indexes)
        # Only now, with the commit done, is the new right edge true.
        if edge is not None:
            self._edge_state = edge
        return indexes

    def append_each(self, items: Sequence[Item]) -> list[list[int] | Exception]:
        """Append independent items in one transaction, so one commit (one fsync) serves all.

        Each item is ``(events, within, admit)``. Under the log's lock, every ``admit(conn)``
        runs first; an item it refuses writes nothing and gets the exception in its place. The
        admitted items without ``within`` are appended together; each one with ``within`` then
        runs in a savepoint of its own, rolled back alone if it raises. Indexes have no gaps.
        If the commit fails, this raises and nothing of any item is kept.
        """
        results: list[list[int] | Exception | None] = [None] * len(items)
        edge: tuple[int, dict[tuple[int, int], bytes]] | None = self._edge_state
        with self.store.writing() as conn:
            self._lock_head(conn)
            plain: list[int] = []
            own: list[int] = []
            chosen = [item[0] for item in items]
            for n, (_, within, admit) in enumerate(items):
                try:
                    if admit is not None:
                        chosen[n] = admit(conn) or chosen[n]
                except Exception as exc:  # refused before it wrote any event
                    results[n] = exc
                    continue
                (plain if within is None else own).append(n)
            if plain:
                indexes, after = self._append(conn, [e for n in plain for e in chosen[n]], edge)
                edge = after if after is not None else edge
                position = 0
                for n in plain:
                    results[n] = indexes[position : position + len(chosen[n])]
                    position += len(chosen[n])
            for n in own:
                events, within = chosen[n], items[n][1]
                try:
                    with conn.begin_nested():
                        indexes, after = self._append(conn, events, edge)
                        if within is not None:
                            within(conn, indexes)
                except Exception as exc:  # this item only; its savepoint is rolled back
                    results[n] = exc
                    continue
                # Work may have appended more (an approval): the head then says a larger
                # size than this edge, and the next item reads the edge from the database.
                edge = after if after is not None else edge
                results[n] = indexes
        if edge is not None:
            self._edge_state = edge  # committed: the edge is true now
        return [r if r is not None else RuntimeError("not appended") for r in results]

    def append_in(self, conn: Connection, events: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append inside the caller's write transaction (``store.writing()``).

        Whether that transaction commits is the caller's affair: the cached right edge is
        dropped, and the next append reads the edge from the database.
        """
        self._edge_state = (-1, {})
        return self._append(conn, events)[0]

    def _append(
        self,
        conn: Connection,
        events: Sequence[Mapping[str, Any]],
        known: tuple[int, dict[tuple[int, int], bytes]] | None = None,
    ) -> tuple[list[int], tuple[int, dict[tuple[int, int], bytes]] | None]:
        if not events:
            return [], None
        stamped = [e if "time" in e else {**e, "time": now()} for e in events]
        encoded = [event_bytes(e) for e in stamped]
        size = self._lock_head(conn)
        edge_size, edge = known if known is not None else self._edge_state
        cache: dict[tuple[int, int], bytes] = dict(edge) if size == edge_size else {}

        def get(key: tuple[int, int]) -> bytes | None:
            found = cache.get(key)
            if found is None:
                found = _node(conn, key)
            return found

        leaves, nodes = [], []
        for offset, (event, data) in enumerate(zip(stamped, encoded, strict=True)):
            index = size + offset
            digest = merkle.leaf_hash(data)
            leaves.append(
                {"idx": index, "kind": event["kind"], "event": data.decode(), "leaf_hash": digest}
            )
            for level, position, node in merkle.completed(index, digest, get):
                cache[level, position] = node
                if level:  # level 0 is the leaf hash, stored with the event
                    nodes.append({"level": level, "idx": position, "hash": node})
        conn.execute(insert(audit_leaves), leaves)
        if nodes:
            conn.execute(insert(audit_nodes), nodes)
        refs = [{"subject": subject, "idx": size + offset}
                for offset, event in enumerate(stamped) for subject in subjects(event)]  # fmt: skip
        if refs:
            conn.execute(insert(audit_refs), refs)
        end = size + len(events)
        conn.execute(audit_head.update().where(audit_head.c.id == 1).values(size=end))
        kept = {
            key: cache[key]
            for level in range(end.bit_length())
            if (end >> level) & 1 and (key := (level, (end >> level) - 1)) in cache
        }
        return list(range(size, end)), (end, kept)

    def lock(self, conn: Connection) -> int:
        """Take the log's write lock in ``conn``'s transaction, now; the size. Every transaction
        that appends is ordered after this one from here on, so a state change made next (a
        pause) is seen by any append that waited for it.

        The one lock order: the log's lock first, then any row's. A transaction that changes a
        row it will record takes this before touching the row (:meth:`rows_for_change` does
        both), so two transactions never hold one lock each while waiting for the other's."""
        return self._lock_head(conn)

    def rows_for_change(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """The log's lock, then ``query``'s rows, locked until the transaction ends (PostgreSQL
        ``FOR UPDATE``; SQLite's write transaction holds the whole database already)."""
        self._lock_head(conn)
        if self.store.dialect == "postgresql":
            query = query.with_for_update()
        return list(conn.execute(query).all())

    def _lock_head(self, conn: Connection) -> int:
        query = select(audit_head.c.size).where(audit_head.c.id == 1)
        if self.store.dialect == "postgresql":
            query = query.with_for_update()
        size = conn.execute(query).scalar_one_or_none()
        if size is None:
            raise RuntimeError("the audit log head row is missing: the database is damaged")
        return int(size)

    def about(self, conn: Connection, subject: str) -> list[tuple[int, dict[str, Any]]]:
        """The events about ``subject`` (see :func:`subjects`), oldest first, each checked
        against its leaf hash: ``(index, event)``. Raises :class:`ValueError` for an event whose
        text no longer matches its hash."""
        rows = conn.execute(
            select(audit_leaves.c.idx, audit_leaves.c.event, audit_leaves.c.leaf_hash)
            .select_from(audit_refs.join(audit_leaves, audit_leaves.c.idx == audit_refs.c.idx))
            .where(audit_refs.c.subject == subject)
            .order_by(audit_leaves.c.idx)
        ).all()  # fmt: skip
        return [self._checked(subject, int(idx), text, bytes(digest)) for idx, text, digest in rows]

    def latest_about(
        self, conn: Connection, subject: str, before: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """The ``limit`` latest events about ``subject`` before index ``before``, newest first,
        each checked against its leaf hash as :meth:`about` does."""
        rows = conn.execute(
            select(audit_leaves.c.idx, audit_leaves.c.event, audit_leaves.c.leaf_hash)
            .select_from(audit_refs.join(audit_leaves, audit_leaves.c.idx == audit_refs.c.idx))
            .where(audit_refs.c.subject == subject, audit_refs.c.idx < before)
            .order_by(audit_refs.c.idx.desc())
            .limit(limit)
        ).all()  # fmt: skip
        return [self._checked(subject, int(idx), text, bytes(digest)) for idx, text, digest in rows]

    @staticmethod
    def _checked(subject: str, idx: int, text: str, digest: bytes) -> tuple[int, dict[str, Any]]:
        if merkle.leaf_hash(text.encode()) != digest:
            raise ValueError(f"audit event {idx} does not match its leaf hash")
        event = json.loads(text)
        if subject not in subjects(event):
            raise ValueError(f"audit event {idx} is not about {subject}")
        return idx, event

    def checkpoint(self, signer: Any, origin: str) -> str:
        """Sign and store a checkpoint of the log as it is; return the note.

        The tree must extend every checkpoint signed before: the newest in the database and the
        one kept beside the key (outside the database), each checked by its signature, not by
        columns anyone with the database can rewrite. A log that was rewritten is not signed.
        """
        from watchkeeper.store.checkpoint import CheckpointError, pin, pinned

        with self.store.writing() as conn:
            size = self._lock_head(conn)
            lookup = _lookup(conn)
            root = merkle.root(size, lookup)
            earlier = [n for n in (self._latest_note(conn), pinned(signer)) if n is not None]
            for note in earlier:
                try:
                    before = signer.verifier.verify(note)
                except CheckpointError as exc:
                    raise RuntimeError(f"an earlier checkpoint does not verify ({exc}): the "
                                       "log or its checkpoints were changed") from None  # fmt: skip
                if before.size > size:
                    raise RuntimeError(f"a signed checkpoint covers {before.size} events but the "
                                       f"log holds {size}: events were removed")  # fmt: skip
                if before.size == size and before.root != root:
                    raise RuntimeError(f"the log at {size} events no longer has the root its "
                                       "checkpoint signed: it was rewritten")  # fmt: skip
                if 0 < before.size < size and not merkle.verify_consistency(
                    before.size, size, before.root, root,
                    merkle.consistency_proof(before.size, size, lookup),
                ):  # fmt: skip
                    raise RuntimeError(f"the log is not an extension of its checkpoint at "
                                       f"{before.size} events: it was rewritten; refusing to "
                                       "sign")  # fmt: skip
            current = next((n for n in earlier if signer.verifier.verify(n).size == size), None)
            if current is not None and self._latest_size(conn) == size:
                return current
            note = str(signer.sign(origin, size, root))
            if self._latest_size(conn) != size:
                conn.execute(insert(audit_checkpoints).values(size=size, root=root, note=note))
        if signer.pinned is not None:
            pin(signer.pinned, note)
        return note

    def _latest_note(self, conn: Connection) -> str | None:
        row = conn.execute(
            select(audit_checkpoints.c.note).order_by(audit_checkpoints.c.size.desc()).limit(1)
        ).first()
        return None if row is None else str(row[0])

    def _latest_size(self, conn: Connection) -> int:
        found = conn.execute(select(func.max(audit_checkpoints.c.size))).scalar()
        return -1 if found is None else int(found)

    def signed_size(self, conn: Connection) -> int:
        """How many events the newest stored checkpoint covers (0 without one)."""
        return max(self._latest_size(conn), 0)

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """(size, note) of the newest checkpoint, or ``None``."""
        rows = self.checkpoints()
        return (rows[-1][0], rows[-1][2]) if rows else None

    # ── reading ──────────────────────────────────────────────────────────────────────────

    def size(self, conn: Connection | None = None) -> int:
        """How many events the log holds."""
        if conn is not None:
            return int(conn.execute(select(audit_head.c.size)).scalar_one())
        with self.store.reading() as c:
            return self.size(c)

    def root(self, size: int, conn: Connection | None = None) -> bytes:
        """The tree head over the first ``size`` events."""
        with self._conn(conn) as c:
            return merkle.root(size, _lookup(c))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path of event ``index`` in the tree of ``size``."""
        with self.store.reading() as c:
            self._within(c, size)
            return merkle.inclusion_proof(index, size, _lookup(c))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """That the tree of ``old`` events is a prefix of the tree of ``new``."""
        with self.store.reading() as c:
            self._within(c, new)
            return merkle.consistency_proof(old, new, _lookup(c))

    def _within(self, conn: Connection, size: int) -> None:
        current = self.size(conn)
        if size > current:
            raise ValueError(f"the log holds {current} events, not {size}")

    def leaf(self, index: int) -> Leaf | None:
        """Event ``index``, or ``None``."""
        with self.store.reading() as c:
            row = c.execute(
                select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event,
                       audit_leaves.c.leaf_hash).where(audit_leaves.c.idx == index)
            ).first()  # fmt: skip
        return None if row is None else Leaf(int(row[0]), row[1], row[2].encode(), bytes(row[3]))

    def leaves(self, start: int = 0, end: int | None = None) -> Iterator[Leaf]:
        """Events ``[start, end)`` in order, read in chunks."""
        position = start
        while end is None or position < end:
            stop = position + _CHUNK if end is None else min(end, position + _CHUNK)
            with self.store.reading() as c:
                rows = c.execute(
                    select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event,
                           audit_leaves.c.leaf_hash)
                    .where(audit_leaves.c.idx >= position, audit_leaves.c.idx < stop)
                    .order_by(audit_leaves.c.idx)
                ).all()  # fmt: skip
            if not rows:
                return
            for row in rows:
                yield Leaf(int(row[0]), row[1], row[2].encode(), bytes(row[3]))
            position = int(rows[-1][0]) + 1

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        """Every stored checkpoint: (size, root, note), oldest first."""
        with self.store.reading() as c:
            rows = c.execute(
                select(audit_checkpoints.c.size, audit_checkpoints.c.root, audit_checkpoints.c.note)
                .order_by(audit_checkpoints.c.size)
            ).all()  # fmt: skip
        return [(int(r[0]), bytes(r[1]), r[2]) for r in rows]

    def verify(self, key: Any = None, published: Sequence[str] = ()) -> VerifyReport:
        """Recompute the tree from the events and check every stored hash and checkpoint.

        ``key`` (a :class:`~watchkeeper.store.checkpoint.Verifier`) checks the checkpoints'
        signatures; ``published`` are signed notes kept elsewhere (a rewritten database cannot
        change them), each of which the log must still contain. Memory: 32 bytes per event for
        the lowest level, then half as much per level up.
        """
        report = VerifyReport()
        with self.store.reading() as conn:
            heads = _raw(conn, "SELECT size FROM audit_head ORDER BY id", ())
            if len(heads) != 1:
                return report.fail(f"the log's head has {len(heads)} rows, not 1")
            report.size = size = int(heads[0][0])
            height = size.bit_length()
            strays = _raw(
                conn,
                "SELECT (SELECT count(*) FROM audit_leaves WHERE idx < 0), "
                "(SELECT count(*) FROM audit_nodes WHERE level < 1 OR level >= %s)",
                (height,),
            )[0]
            if strays[0] or strays[1]:
                return report.fail(
                    f"rows outside the tree: {strays[0]} events, {strays[1]} tree nodes", None
                )
            level = bytearray()
            expected = 0
            needles: dict[str, str] = {}  # kind → how the event spells it
            for rows in _leaf_chunks(conn):
                first, last = int(rows[0][0]), int(rows[-1][0])
                if first != expected or last - first != len(rows) - 1:
                    at = next(i for i, r in enumerate(rows, start=expected) if int(r[0]) != i)
                    return report.fail(f"event {at} is missing", at)
                if last >= size:
                    return report.fail(f"event {size} is past the head ({size} events)", size)
                wrong = next((i for i, r in enumerate(rows)
                              if (needles.get(r[3]) or _needle(needles, r[3])) not in r[1]),
                             None)  # fmt: skip
                if wrong is not None:  # the column shown by tail and export is the event's
                    return report.fail(f"event {first + wrong}'s kind was changed", first + wrong)
                digests = [_sha256(b"\x00" + r[1].encode()).digest() for r in rows]
                stored = [bytes(r[2]) for r in rows]
                if digests != stored:  # one comparison per chunk; find the row only on failure
                    at = next(
                        i for i, (a, b) in enumerate(zip(digests, stored, strict=True)) if a != b
                    )
                    return report.fail(
                        f"event {first + at} does not match its leaf hash", first + at
                    )
                level += b"".join(digests)
                expected = last + 1
            report.leaves = expected
            if expected != size:
                return report.fail(
                    f"the head says {size} events but {expected} are stored", expected
                )
            for height in range(size.bit_length()):
                problem = _check_level(conn, height, level) if height else None
                if problem is not None:
                    return report.fail(*problem)
                # Siblings lie side by side: each parent hashes 0x01 ‖ the 64 bytes below it.
                level = bytearray(
                    b"".join(_sha256(b"\x01" + level[i : i + 64]).digest()
                             for i in range(0, len(level) - 32, 64))
                )  # fmt: skip
            lookup = _lookup(conn)
            report.root = merkle.root(size, lookup)
            for cp_size, cp_root, note in self._checkpoint_rows(conn):
                report.checkpoints += 1
                if cp_size > size:
                    return report.fail(
                        f"checkpoint at {cp_size} events, but the log holds {size}: the tail "
                        "was cut", size)  # fmt: skip
                actual = merkle.root(cp_size, lookup)
                if actual != cp_root:
                    return report.fail(f"checkpoint at {cp_size} has another root than the "
                                       "events give", _first_difference(cp_size))  # fmt: skip
                if key is not None:
                    problem_text = key.check(note, cp_size, cp_root)
                    if problem_text is not None:
                        return report.fail(f"checkpoint at {cp_size}: {problem_text}", None)
                report.signed = max(report.signed, cp_size)
            for note in published:
                if key is None:
                    return report.fail("a published checkpoint needs the key to check it")
                try:
                    outside = key.verify(note)
                except Exception as exc:
                    return report.fail(f"a published checkpoint does not verify: {exc}")
                covered = outside.size
                if covered > size:
                    why = f"a published checkpoint covers {covered} events, the log holds {size}"
                    return report.fail(why + ": events were removed", size)
                if merkle.root(covered, lookup) != outside.root:
                    why = f"the log no longer matches the published checkpoint at {covered} events"
                    return report.fail(why + ": it was rewritten")
                report.published += 1
                report.signed = max(report.signed, covered)
            if report.unprotected:
                oldest = conn.execute(
                    select(audit_leaves.c.recorded_at).where(audit_leaves.c.idx == report.signed)
                ).scalar()
                report.unprotected_since = None if oldest is None else _when(oldest)
        return report

    def _checkpoint_rows(self, conn: Connection) -> list[tuple[int, bytes, str]]:
        rows = conn.execute(
            select(audit_checkpoints.c.size, audit_checkpoints.c.root, audit_checkpoints.c.note)
            .order_by(audit_checkpoints.c.size)
        ).all()  # fmt: skip
        return [(int(r[0]), bytes(r[1]), r[2]) for r in rows]

    def _conn(self, conn: Connection | None) -> Any:
        if conn is not None:
            return _Borrowed(conn)
        return self.store.reading()


class _Borrowed:
    """A caller's connection, used as a context manager without closing it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


def _when(value: Any) -> str:
    """A stored timestamp as RFC 3339 (SQLite keeps text, PostgreSQL a timestamptz)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return str(value.isoformat(timespec="seconds"))
    return str(value).replace(" ", "T") + "+00:00"


def _node(conn: Connection, key: tuple[int, int]) -> bytes | None:
    level, index = key
    if level == 0:  # the leaf hashes are the tree's lowest level; they are not stored twice
        query = select(audit_leaves.c.leaf_hash).where(audit_leaves.c.idx == index)
    else:
        query = select(audit_nodes.c.hash).where(
            tuple_(audit_nodes.c.level, audit_nodes.c.idx) == tuple_(level, index)
        )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else bytes(found)


def _lookup(conn: Connection) -> merkle.Lookup:
    cache: dict[tuple[int, int], bytes | None] = {}

    def get(key: tuple[int, int]) -> bytes | None:
        if key not in cache:
            cache[key] = _node(conn, key)
        return cache[key]

    return get


def _needle(needles: dict[str, str], kind: str) -> str:
    needles[kind] = f'"kind":{json.dumps(kind, ensure_ascii=False)}'
    return needles[kind]


def _raw(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows straight from the driver, in the connection's transaction: verifying reads every
    row of the log, and the per-row cost of a result wrapper would dominate."""
    if conn.dialect.paramstyle == "qmark":
        sql = sql.replace("%s", "?")
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _leaf_chunks(conn: Connection) -> Iterator[list[Any]]:
    """(idx, event, leaf_hash) rows in order, ``_CHUNK`` at a time by key range (no OFFSET)."""
    after = -1
    while True:
        rows = _raw(
            conn,
            "SELECT idx, event, leaf_hash, kind FROM audit_leaves WHERE idx > %s "
            "ORDER BY idx LIMIT %s",
            (after, _CHUNK),
        )
        if not rows:
            return
        yield rows
        after = int(rows[-1][0])


def _check_level(conn: Connection, height: int, hashes: bytearray) -> tuple[str, int] | None:
    """Compare the stored nodes of one level with the recomputed ``hashes``."""
    count = len(hashes) // 32
    expected = 0
    after = -(2**62)  # from the very bottom: a node with a negative index is out of place
    while True:
        rows = _raw(
            conn,
            "SELECT idx, hash FROM audit_nodes WHERE level = %s AND idx > %s ORDER BY idx LIMIT %s",
            (height, after, _CHUNK),
        )
        if not rows:
            break
        first, last = int(rows[0][0]), int(rows[-1][0])
        if (
            first == expected
            and last - first == len(rows) - 1
            and last < count
            and b"".join(bytes(r[1]) for r in rows) == hashes[first * 32 : (last + 1) * 32]
        ):  # the whole chunk agrees: one comparison
            expected = last + 1
            after = last
            continue
        for idx, digest in rows:
            index = int(idx)
            first = index << height
            if index != expected or index >= count:
                what = "is missing" if index > expected else "should not exist"
                at = expected if index > expected else index
                return f"tree node ({height}, {at}) {what}", at << height
            if bytes(digest) != hashes[index * 32 : index * 32 + 32]:
                span = f"events {first} to {first + (1 << height) - 1}"
                return f"tree node ({height}, {index}) over {span} does not match them", first
            expected += 1
        after = int(rows[-1][0])
    if expected != count:
        return f"tree node ({height}, {expected}) is missing", expected << height
    return None


def _first_difference(size: int) -> int | None:
    return None if size == 0 else 0


class GroupCommit:
    """Many threads appending, one transaction per group: each ``append`` waits for the commit
    that holds its events, and the commits are shared.

        group = GroupCommit(AuditLog(store))
        index = group.append([{"kind": "decision", …}])[0]   # durable on return
        group.close()

    A failed transaction fails every append in its group with the same error.
    """

    def __init__(self, log: AuditLog, max_events: int = 5000, linger: float = 0.0) -> None:
        self.log = log
        self.max_events = max_events
        #: How long a group waits for more appenders once the first has arrived: a commit
        #: costs about as much for one event as for dozens.
        self.linger = linger
        self._pending: list[tuple[Item, Future[list[int]]]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
        self._thread.start()

    def append(
        self,
        events: Sequence[Mapping[str, Any]],
        within: Work | None = None,
        admit: Admit | None = None,
    ) -> list[int]:
        """Append ``events``; their indexes, once the group they joined has committed.

        ``admit`` and ``within`` run in the group's transaction as :meth:`AuditLog.append_each`
        says: if either raises, this append raises the same, and the group commits without it.
        """
        return self.submit(events, within, admit).result()

    def submit(
        self,
        events: Sequence[Mapping[str, Any]],
        within: Work | None = None,
        admit: Admit | None = None,
    ) -> Future[list[int]]:
        """As :meth:`append`, without waiting: the future holds the indexes once committed.
        An event loop awaits it (``asyncio.wrap_future``) instead of parking a thread on it."""
        for e in events:  # a bad event fails its caller here, not everyone in its group
            event_bytes(e if "time" in e else {**e, "time": ""})
        done: Future[list[int]] = Future()
        with self._wake:
            if self._closed:
                raise RuntimeError("the group commit is closed")
            self._pending.append(((list(events), within, admit), done))
            self._wake.notify()
        return done

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                deadline = time.monotonic() + self.linger
                while (
                    not self._closed and sum(len(i[0]) for i, _ in self._pending) < self.max_events
                ):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                group: list[tuple[Item, Future[list[int]]]] = []
                count = 0
                while self._pending and (not group or count + len(self._pending[0][0][0])
                                         <= self.max_events):  # fmt: skip
                    waiting = self._pending.pop(0)
                    # A caller that gave up (its future was cancelled) is left out; once
                    # running, a future cannot be cancelled, so every answer is delivered.
                    if waiting[1].set_running_or_notify_cancel():
                        group.append(waiting)
                        count += len(waiting[0][0])
            if not group:
                continue
            try:
                results = self.log.append_each([item for item, _ in group])
            except Exception as exc:  # the commit failed: every waiter learns why
                for _, done in group:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(group, results, strict=True):
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    def close(self) -> None:
        """Commit what is pending, then stop."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

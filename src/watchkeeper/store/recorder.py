"""Recording decisions: the action and its decision become audit events before anyone sees it.

    recorder = Recorder.open("sqlite:///.watchkeeper/watchkeeper.db")
    recorder.record(action, decision)   # committed to the audit log (WAL, fsync) before it returns

Every ``checkpoint_every`` events, or when ``checkpoint_seconds`` have passed since the last one,
the recorder signs a checkpoint as decisions arrive. A long-running process also starts
:meth:`Recorder.start_signing`: it signs the tail within ``checkpoint_seconds`` of the first
event no checkpoint covers, whoever wrote it (a vote, a pause, another replica), even when
nothing else arrives. A decision that cannot be recorded is not returned: the service answers
``deny`` with the failure as the reason.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any, Protocol

from sqlalchemy import Connection

from watchkeeper.canonical import canonical_json
from watchkeeper.decision import Decision
from watchkeeper.store.audit import Admit, AuditLog, GroupCommit, Work
from watchkeeper.store.checkpoint import DEFAULT_KEY, DEFAULT_ORIGIN, Signer
from watchkeeper.store.database import Store
from watchkeeper.workers import Every

__all__ = ["Admit", "Recorder", "Within", "action_record"]


class Within(Protocol):
    """Runs in the transaction that records an ``ask``, after its events are appended
    (``indexes``: theirs): the approval is opened with the decision, or neither is."""

    def __call__(self, conn: Connection, indexes: list[int], decision: Decision) -> None: ...


def action_record(action: Any) -> Any:
    """What to record of an action as it arrived: its JSON form, or a note if it has none."""
    if hasattr(action, "to_json"):
        return action.to_json()
    try:
        canonical_json(action)
    except Exception:  # not JSON: record what it looked like, never fail on it
        return {"unreadable": repr(action)[:2000]}
    return action


class Recorder:
    """Appends ``action`` and ``decision`` events; signs checkpoints as configured."""

    def __init__(
        self,
        store: Store,
        signer: Signer | None = None,
        *,
        origin: str = DEFAULT_ORIGIN,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 60.0,
        group_commit: bool = False,
    ) -> None:
        self.store = store
        self.log = AuditLog(store)
        #: With many callers at once (a server), decisions waiting to be recorded share one
        #: transaction and one fsync; each still returns only once its own is durable.
        self.group = GroupCommit(self.log) if group_commit else None
        self.signer = signer
        self.origin = origin
        self.every = checkpoint_every
        self.seconds = checkpoint_seconds
        latest = self.log.latest_checkpoint()
        self._checkpointed = latest[0] if latest else 0
        self._size = self.log.size()  # as this recorder last saw it: checkpoints are due by it
        self._checkpointed_at = time.monotonic()
        #: One thread signs a due checkpoint; the others go on rather than queue to sign the
        #: same tree again. A failure is remembered until a checkpoint succeeds, so that while
        #: it is being retried no decision slips past it.
        self._signing = threading.Lock()
        self._failure: str | None = None
        #: When the tail signer first saw events no checkpoint covers (monotonic seconds);
        #: ``-inf`` until its first look, since what it finds then may be of any age.
        self._unsigned_since: float | None = float("-inf")
        self._tail: Every | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Any, *, group_commit: bool = False) -> Recorder:
        """A recorder on ``store`` as the settings say: key file, log origin, checkpoints."""
        return cls(
            store,
            Signer.load(settings.audit_key, settings.audit_origin),
            origin=settings.audit_origin,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_seconds=settings.checkpoint_seconds,
            group_commit=group_commit,
        )

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        key: str | None = None,
        origin: str | None = None,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 60.0,
    ) -> Recorder:
        """A recorder on ``url`` (migrated on first use) with the key at ``key``."""
        store = Store.open(url)
        signer = Signer.load(key or DEFAULT_KEY, origin or DEFAULT_ORIGIN)
        return cls(
            store,
            signer,
            origin=origin or DEFAULT_ORIGIN,
            checkpoint_every=checkpoint_every,
            checkpoint_seconds=checkpoint_seconds,
        )

    def record(self, action: Any, decision: Decision) -> Decision:
        """See :meth:`record_indexed`; the decision as recorded."""
        return self.record_indexed(action, decision)[0]

    def record_indexed(
        self,
        action: Any,
        decision: Decision,
        within: Within | None = None,
        admit: Admit | None = None,
    ) -> tuple[Decision, list[int]]:
        """Append the action and its decision in one transaction; the decision as recorded.

        A checkpoint that is due is signed first. If it cannot be (the log was rewritten, the
        key is gone), the decision becomes ``deny`` with that reason, and that is what is
        recorded and returned: the log never says ``allow`` for something that was refused.
        """
        decision = self.checked(decision)
        if self.group is not None:
            return decision, self.submit(action, decision, within, admit).result()
        indexes = self.log.append(
            self.events(action, decision), self._within(within, decision), admit
        )
        self._size = max(self._size, indexes[-1] + 1)
        return decision, indexes

    def checked(self, decision: Decision) -> Decision:
        """``decision``, or ``deny`` if a checkpoint is due and cannot be signed. It may write
        (the checkpoint): call it off an event loop, and only when :meth:`checkpoint_due`."""
        try:
            self.maybe_checkpoint(self._size)
        except Exception as exc:
            return Decision.fail_closed(
                f"the audit log cannot be checkpointed: {exc}",
                orders_digest=decision.orders_digest,
                action_digest=decision.action_digest,
                environment=decision.environment,
            )
        return decision

    def checkpoint_due(self) -> bool:
        """Whether :meth:`checked` has work to do (cheap: no reads)."""
        return self._due(self._size)

    def _due(self, size: int) -> bool:
        return (
            self.signer is not None
            and size > self._checkpointed
            and (
                size - self._checkpointed >= self.every
                or time.monotonic() - self._checkpointed_at >= self.seconds
            )
        )

    def submit(
        self,
        action: Any,
        decision: Decision,
        within: Within | None = None,
        admit: Admit | None = None,
    ) -> Future[list[int]]:
        """Hand the action and its (already :meth:`checked`) decision to the group commit;
        the future holds their indexes once durable. Needs ``group_commit=True``."""
        if self.group is None:
            raise RuntimeError("submit needs a recorder with group_commit=True")
        done = self.group.submit(
            self.events(action, decision), self._within(within, decision), admit
        )

        def seen(finished: Future[list[int]]) -> None:
            if not finished.cancelled() and finished.exception() is None:
                self._size = max(self._size, finished.result()[-1] + 1)

        done.add_done_callback(seen)
        return done

    @staticmethod
    def events(action: Any, decision: Decision) -> list[dict[str, Any]]:
        """The audit events recording ``action`` decided as ``decision``."""
        return [
            {"kind": "action", "action": action_record(action)},
            {"kind": "decision", "decision": decision.to_json()},
        ]

    @staticmethod
    def _within(within: Within | None, decision: Decision) -> Work | None:
        return None if within is None else (lambda conn, idx: within(conn, idx, decision))

    def start_signing(self, interval: float = 1.0) -> None:
        """Look at the log every ``interval`` seconds, in a thread of its own, and sign the tail
        (see :meth:`sign_tail`) until :meth:`close`."""
        if self.signer is not None and self._tail is None:
            self._tail = Every(interval, lambda: self.sign_tail(interval), name="checkpoints")

    def sign_tail(self, interval: float, now: float | None = None) -> str | None:
        """Sign a checkpoint if events have gone unsigned for about ``checkpoint_seconds``;
        the note, or ``None``. Called every ``interval`` seconds, it signs each event within
        ``checkpoint_seconds`` of its append: the first look after the event comes at most
        ``interval`` later, so it counts the tail from ``interval`` before it was seen."""
        if self.signer is None:
            return None
        now = time.monotonic() if now is None else now
        with self.store.reading() as conn:
            size, signed = self.log.size(conn), self.log.signed_size(conn)
        if size <= signed:
            self._unsigned_since = None
            return None
        if self._unsigned_since is None:
            self._unsigned_since = now - interval
        if now - self._unsigned_since < self.seconds - interval:
            return None
        with self._signing:
            note = self._sign()
        self._checkpointed = max(self._checkpointed, size)
        return note

    def _sign(self) -> str:
        """Sign the log as it is now (hold ``_signing``); a failure is remembered, so that no
        decision is recorded past it until a checkpoint succeeds."""
        try:
            note = self.log.checkpoint(self.signer, self.origin)
        except Exception as exc:
            self._failure = str(exc)
            raise
        self._failure = None
        self._unsigned_since = None
        self._checkpointed_at = time.monotonic()
        return note

    def maybe_checkpoint(self, size: int) -> str | None:
        """Sign a checkpoint if enough events or time have passed; the note, or ``None``.

        Raises when the checkpoint cannot be signed, and, while another thread is retrying one
        that could not, with that failure."""
        if not self._due(size):
            return None
        if not self._signing.acquire(blocking=False):
            if self._failure is not None:
                raise RuntimeError(self._failure)
            return None  # another thread is signing it
        try:
            if size <= self._checkpointed:  # signed while this thread was deciding
                return None
            note = self._sign()
            self._checkpointed = size
            return note
        finally:
            self._signing.release()

    def stop_signing(self) -> None:
        """Stop the tail signer of :meth:`start_signing`, if any."""
        if self._tail is not None:
            self._tail.close()
            self._tail = None

    def close(self) -> None:
        self.stop_signing()
        if self.group is not None:
            self.group.close()
        self.store.close()

"""Waking waiters the moment an approval changes, without polling.

    waiter = Waiter.start(store)        # PostgreSQL: LISTEN in a thread; SQLite: in-process
    view = await waiter.until(approval_id, read, done, timeout=30)   # on an event loop
    ...                                 # elsewhere, in the changing transaction:
    waiter.announce(conn, approval_id)  # NOTIFY, delivered to every replica on commit
    waiter.changed(approval_id)         # after the commit: this process's waiters of it

On PostgreSQL a change on any replica reaches every replica's waiters through LISTEN/NOTIFY (the
payload names the approval); on SQLite, which one process serves, waiters are woken in-process
after the commit. Only the waiters of the approval that changed wake, so a vote costs one read,
not one per waiter. A waiter on an event loop holds no thread while it waits: hundreds of
long-polls leave the threads free for decisions, votes and pauses. Waiters also re-check now
and then, so a lost notification delays an answer, never changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy import Connection, text

from watchkeeper.store.database import Store

CHANNEL = "watchkeeper_approvals"
#: How often a waiter on an event loop reads again without being woken.
RECHECK_SECONDS = 5.0

T = TypeVar("T")


class Waiter:
    """Wake-ups for approvals, on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Wake-ups of waiters on event loops, by approval.
        self._watchers: dict[str, set[Callable[[], None]]] = {}
        self._watch_lock = threading.Lock()

    @classmethod
    def start(cls, store: Store) -> Waiter:
        """A waiter; on PostgreSQL its listener thread is running when this returns."""
        return cls(store).listen()

    def listen(self) -> Waiter:
        """Hear of changes made on other replicas (PostgreSQL: LISTEN in a thread, running
        when this returns; SQLite: nothing to do, one process serves it). Once; until
        :meth:`close`."""
        if self.store.dialect == "postgresql" and self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, args=(ready,), name="approval-listener", daemon=True
            )
            self._thread.start()
            ready.wait(10)
        return self

    def _listen(self, ready: threading.Event) -> None:
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    ready.set()
                    self._wake(None)  # what changed while nobody listened: everyone re-reads
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=100):
                            self._wake((note.payload,))
            except Exception:  # the database went away: listen again, waiters re-check anyway
                ready.set()
                self._stop.wait(1.0)

    def _wake(self, approval_ids: Iterable[str] | None) -> None:
        """Wake the waiters of ``approval_ids`` (every waiter with ``None``)."""
        with self._watch_lock:
            if approval_ids is None:
                wakes = [w for ws in self._watchers.values() for w in ws]
            else:
                wakes = [w for a in set(approval_ids) for w in self._watchers.get(a, ())]
        for wake in wakes:
            wake()

    def announce(self, conn: Connection, *approval_ids: str) -> None:
        """Inside the transaction that changed ``approval_ids``: other replicas hear of them
        when it commits (PostgreSQL). Call :meth:`changed` after the commit for this process."""
        if self.store.dialect == "postgresql" and approval_ids:
            conn.execute(  # one statement, however many (a pause may cancel hundreds)
                text("SELECT pg_notify(:c, p) FROM unnest(CAST(:ps AS text[])) AS p"),
                {"c": CHANNEL, "ps": list(approval_ids)},
            )

    def changed(self, *approval_ids: str) -> None:
        """After a commit that changed ``approval_ids``: wake this process's waiters of them
        (every waiter when none is named)."""
        self._wake(approval_ids or None)

    async def until(
        self,
        approval_id: str,
        read: Callable[[], Awaitable[T]],
        done: Callable[[T], bool],
        timeout: float,
    ) -> T:
        """``await read()`` again each time ``approval_id`` changes, until ``done`` says so
        or ``timeout`` passes; the last value read. Holds no thread while it waits."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def wake() -> None:  # from any thread: the listener, a worker that committed
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(event.set)

        with self._watch_lock:
            self._watchers.setdefault(approval_id, set()).add(wake)
        try:
            deadline = loop.time() + timeout
            while True:
                event.clear()  # before reading: a change during the read is not missed
                value = await read()
                left = deadline - loop.time()
                if done(value) or left <= 0:
                    return value
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(left, RECHECK_SECONDS))
        finally:
            with self._watch_lock:
                watchers = self._watchers.get(approval_id)
                if watchers is not None:
                    watchers.discard(wake)
                    if not watchers:
                        del self._watchers[approval_id]

    def waiting(self) -> int:
        """How many waiters on event loops are waiting now."""
        with self._watch_lock:
            return sum(len(ws) for ws in self._watchers.values())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

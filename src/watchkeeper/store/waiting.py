"""Waking waiters the moment an approval changes, without polling.

    waiter = Waiter.start(store)        # PostgreSQL: LISTEN in a thread; SQLite: in-process
    waiter.wait(approval_id, lambda: decided(), timeout=30)
    ...                                 # elsewhere, in the changing transaction:
    waiter.announce(conn, approval_id)  # NOTIFY, delivered to every replica on commit
    waiter.changed()                    # after the commit: this process's waiters

On PostgreSQL a change on any replica reaches every replica's waiters through LISTEN/NOTIFY; on
SQLite, which one process serves, waiters are woken in-process after the commit. A waiter also
re-checks once a second, so a lost notification delays an answer, never changes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text

from watchkeeper.store.database import Store

CHANNEL = "watchkeeper_approvals"


class Waiter:
    """Wake-ups for approvals, on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._changed = threading.Condition()
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, store: Store) -> Waiter:
        """A waiter; on PostgreSQL its listener thread is running when this returns."""
        waiter = cls(store)
        if store.dialect == "postgresql":
            ready = threading.Event()
            waiter._thread = threading.Thread(
                target=waiter._listen, args=(ready,), name="approval-listener", daemon=True
            )
            waiter._thread.start()
            ready.wait(10)
        return waiter

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
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=100):
                            self._wake()
            except Exception:  # the database went away: listen again, waiters re-check anyway
                ready.set()
                self._stop.wait(1.0)

    def _wake(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def announce(self, conn: Connection, approval_id: str) -> None:
        """Inside the transaction that changed ``approval_id``: other replicas hear of it when
        it commits (PostgreSQL). Call :meth:`changed` after the commit for this process."""
        if self.store.dialect == "postgresql":
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": approval_id})

    def changed(self) -> None:
        """After a commit that changed an approval: wake this process's waiters."""
        self._wake()

    def wait(self, check: Callable[[], Any], timeout: float) -> Any:
        """Return ``check()`` as soon as it is truthy, or its last value after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = self._generation
            result = check()
            left = deadline - time.monotonic()
            if result or left <= 0:
                return result
            with self._changed:
                if self._generation == seen:
                    self._changed.wait(min(left, 1.0))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

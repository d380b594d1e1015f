"""The stream's statements, in the database's own SQL: what a watch rule's window costs.

    windows = Windows(store.dialect)
    row = windows.append(conn, {...})                          # the event, its stream row
    counts = windows.counts(conn, [("agent", "action", since, "infra-bot"), ...])

Every window an event needs is counted by **one** statement (a ``UNION ALL`` of one aggregate
per window), written once per shape and sent straight to the driver: building and compiling
SQLAlchemy expressions costs several times what SQLite spends running them, and a decision pays
it on every action. Each aggregate reads the events of one key (an agent, a session…) since
the window's start through the ``(key, at)`` index.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from watchkeeper.orders.watch import TAGS
from watchkeeper.stream import bit

#: The column a window over each scope is counted by.
SCOPE_COLUMNS = {"agent": "agent", "session": "session", "tool": "tool", "target": "target",
                 "approver": "approver", "all": None}  # fmt: skip
#: What a counts row holds after the window's position: these, then a count per tag.
COUNTED = ("count", "allowed", "asked", "denied", "approved", "irreversible", "targets")
_COLUMNS = ("at", "kind", "agent", "session", "tool", "target", "approver", "decision", "vote",
            "review", "tags", "weight", "shape", "text", "action_index")  # fmt: skip


def _q(name: str) -> str:
    return f'"{name}"'


class Windows:
    """The stream's statements for one dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, dialect: str) -> None:
        #: The drivers' placeholders: sqlite3 takes ``?``, psycopg ``%s``.
        self.mark = "?" if dialect == "sqlite" else "%s"

    def _where(self, scope: str) -> str:
        column = SCOPE_COLUMNS[scope]
        own = f"{_q(column)} = {self.mark} AND " if column else ""
        return f"{own}{_q('kind')} = {self.mark} AND {_q('at')} > {self.mark}"

    @staticmethod
    def _params(scope: str, key: str, kind: str, since: float) -> tuple[Any, ...]:
        return (key, kind, since) if SCOPE_COLUMNS[scope] else (kind, since)

    def append(self, conn: Connection, values: dict[str, Any]) -> int:
        """Insert one event; its stream row's id."""
        sql = self._insert()
        return int(conn.exec_driver_sql(sql, tuple(values[c] for c in _COLUMNS)).scalar_one())

    @functools.cache  # noqa: B019 (one Windows per dialect, kept for the process)
    def _insert(self) -> str:
        names = ", ".join(_q(c) for c in _COLUMNS)
        marks = ", ".join(self.mark for _ in _COLUMNS)
        return f"INSERT INTO watch_events ({names}) VALUES ({marks}) RETURNING id"

    def counts(
        self, conn: Connection, windows: Sequence[tuple[str, str, float, str, bool, bool]]
    ) -> list[tuple[int, ...]]:
        """For each ``(scope, kind, since, key, targets, tags)``, one row: :data:`COUNTED`,
        then, with ``tags``, a count per tag of :data:`~watchkeeper.orders.watch.TAGS` (every
        value a number, never NULL). Distinct targets (``targets``) and tags cost a look at
        every event of the window: without them, they are not worked out (0)."""
        if not windows:
            return []
        sql = self._counts(tuple((w[0], w[4], w[5]) for w in windows))
        params: list[Any] = []
        for scope, kind, since, key, _, _ in windows:
            params.extend(self._params(scope, key, kind, since))
        found = {int(r[0]): tuple(int(v or 0) for v in r[1:])
                 for r in conn.exec_driver_sql(sql, tuple(params))}  # fmt: skip
        return [found[n] for n in range(len(windows))]

    @functools.cache  # noqa: B019
    def _counts(self, shapes: tuple[tuple[str, bool, bool], ...]) -> str:
        def total(condition: str) -> str:
            return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

        def flagged(tag: str) -> str:
            return f"({_q('tags')} & {bit(tag)}) <> 0"

        def columns(targets: bool, tags: bool) -> str:
            return ", ".join([
                "COUNT(*)",
                total(f"{_q('decision')} = 'allow'"),
                total(f"{_q('decision')} = 'ask'"),
                total(f"{_q('decision')} = 'deny'"),
                total(f"{_q('vote')} = 'approve'"),
                f"SUM(CASE WHEN {_q('decision')} <> 'deny' THEN {_q('weight')} ELSE 0 END)",
                f"COUNT(DISTINCT {_q('target')})" if targets else "0",
                *((total(flagged(tag)) for tag in TAGS) if tags else ("0" for _ in TAGS)),
            ])  # fmt: skip

        parts = [
            f"SELECT {n}, {columns(targets, tags)} FROM watch_events WHERE {self._where(scope)}"
            for n, (scope, targets, tags) in enumerate(shapes)
        ]
        return " UNION ALL ".join(parts)

    def last_vote(self, conn: Connection, approver: str) -> float | None:
        """When ``approver`` last voted (the stream's clock), or ``None``."""
        sql = (f"SELECT MAX({_q('at')}) FROM watch_events WHERE {_q('approver')} = {self.mark} "
               f"AND {_q('kind')} = 'vote'")  # fmt: skip
        found = conn.exec_driver_sql(sql, (approver,)).scalar()
        return None if found is None else float(found)

    def denied(
        self, conn: Connection, scope: str, key: str, kind: str, since: float, row: int,
        limit: int,
    ) -> list[tuple[str, str, int | None]]:  # fmt: skip
        """The latest denied events of the window but ``row``: ``(shape, text, action_index)``."""
        sql = (f"SELECT {_q('shape')}, {_q('text')}, {_q('action_index')} FROM watch_events "
               f"WHERE {self._where(scope)} AND {_q('decision')} = 'deny' AND id <> {self.mark} "
               f"ORDER BY id DESC LIMIT {int(limit)}")  # fmt: skip
        params = (*self._params(scope, key, kind, since), row)
        return [(str(r[0]), str(r[1]), r[2]) for r in conn.exec_driver_sql(sql, params)]

    def seen(
        self, conn: Connection, scope: str, key: str, kind: str, target: str, row: int
    ) -> bool:
        """Whether the scope's key had an event on ``target`` before (any time kept)."""
        column = SCOPE_COLUMNS[scope]
        own = f"{_q(column)} = {self.mark} AND " if column else ""
        sql = (f"SELECT id FROM watch_events WHERE {own}{_q('kind')} = {self.mark} AND "
               f"{_q('target')} = {self.mark} AND id <> {self.mark} LIMIT 1")  # fmt: skip
        params = (*((key,) if column else ()), kind, target, row)
        return conn.exec_driver_sql(sql, params).first() is not None

    def reviews(
        self, conn: Connection, scope: str, key: str, kind: str, since: float
    ) -> list[float]:
        """Review times of the window's approving votes, latest first (at most 1,000)."""
        sql = (f"SELECT {_q('review')} FROM watch_events WHERE {self._where(scope)} AND "
               f"{_q('vote')} = 'approve' AND {_q('review')} IS NOT NULL "
               "ORDER BY id DESC LIMIT 1000")  # fmt: skip
        params = self._params(scope, key, kind, since)
        return [float(r[0]) for r in conn.exec_driver_sql(sql, params)]

    def latest(
        self, conn: Connection, scope: str, key: str, kind: str, since: float, limit: int
    ) -> list[int]:
        """The audit indexes of the window's latest events."""
        sql = (f"SELECT {_q('action_index')} FROM watch_events WHERE {self._where(scope)} AND "
               f"{_q('action_index')} IS NOT NULL ORDER BY id DESC LIMIT {int(limit)}")  # fmt: skip
        params = self._params(scope, key, kind, since)
        return [int(r[0]) for r in conn.exec_driver_sql(sql, params)]

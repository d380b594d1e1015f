"""Opening the database: one URL, SQLite (the embedded default) or PostgreSQL.

    store = Store.open("sqlite:///.watchkeeper/watchkeeper.db")   # or postgresql://…
    with store.writing() as conn:       # writers are serialized: BEGIN IMMEDIATE / row locks
        …
    with store.reading() as conn:
        …

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit that returned survives power loss)
and a busy timeout, so concurrent processes wait instead of failing. PostgreSQL goes through
psycopg 3 with a connection pool. An empty database is migrated to the current schema on first
use; one that is behind is refused with the command that upgrades it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    create_engine,
    event,
    inspect,
    literal_column,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from watchkeeper.config import SETTING
from watchkeeper.errors import UsageError

DEFAULT_URL = "sqlite:///.watchkeeper/watchkeeper.db"
MIGRATIONS = Path(__file__).with_name("migrations")
#: Any number under which PostgreSQL serializes concurrent first-use migrations.
_MIGRATION_LOCK = 0x77617463  # "watc"


T = TypeVar("T")


class StoreError(UsageError):
    """The database cannot be used as it is: the message says why and what to do."""


def normalize(url: str) -> str:
    """``postgresql://`` and ``postgres://`` go through psycopg 3; SQLite paths are kept."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def create(url: str) -> Engine:
    """An engine for ``url``, set up for durability and concurrent writers."""
    try:
        url = normalize(url)
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise StoreError(
            f"database URL {url!r} cannot be read ({exc}); use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE (--db or WATCHKEEPER_DB)"
        ) from None
    if backend == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,  # errors reach callers; the values may be others' events
            pool_size=64,
            max_overflow=64,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        return create_engine(
            url, pool_size=5, max_overflow=10, pool_pre_ping=True, hide_parameters=True
        )
    raise StoreError(
        f"database URL {url!r} names {backend!r}; watchkeeper stores its state in SQLite "
        "(sqlite:///PATH) or PostgreSQL (postgresql://…)"
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that `_sqlite_begin` decides
    # how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA mmap_size=268435456")  # verify and export read the page cache
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock at BEGIN, not at its first write: two writers never both
    # read the head and then collide.
    immediate = conn.get_execution_options().get("watchkeeper_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


class Store:
    """A migrated database and how to use it; see the module docstring."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time. Threads of this process queue here, woken the
        # moment the writer before them commits, instead of in SQLite's busy handler, which
        # sleeps in steps of up to 100 ms. Other processes still meet the busy timeout.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        """Open ``url`` (default: WATCHKEEPER_DB, else the embedded SQLite file).

        An empty database is migrated first; one behind the code raises :class:`StoreError`.
        """
        url = url or os.environ.get(SETTING["db"].env) or DEFAULT_URL
        store = cls(create(url), url)
        try:
            state = store.schema_state()
            if state == "empty" and migrate:
                store.upgrade()
            elif state == "behind":
                raise StoreError(
                    f"the database at {_shown(url)} is at an older schema; run "
                    f"`watchkeeper db upgrade --db {_shown(url)}` first"
                )
            elif state == "ahead":
                raise StoreError(
                    f"the database at {_shown(url)} was written by a newer watchkeeper; "
                    "upgrade watchkeeper to use it"
                )
        except SQLAlchemyError as exc:
            store.close()
            raise StoreError(
                f"cannot use the database at {_shown(url)}: {_first_line(exc)}"
            ) from None
        except StoreError:
            store.close()
            raise
        return store

    def schema_state(self) -> str:
        """``empty``, ``current``, ``behind`` or ``ahead`` of the migrations shipped."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return "empty"
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(_config(conn)).get_current_head()
            if current == head:
                return "current"
            known = {
                s.revision for s in ScriptDirectory.from_config(_config(conn)).walk_revisions()
            }
            return "behind" if current in known or current is None else "ahead"

    def upgrade(self) -> str:
        """Migrate to the newest schema; returns the revision. Safe to run concurrently."""
        with self.engine.connect().execution_options(watchkeeper_write=True) as conn:
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                command.upgrade(_config(conn), "head")
            return str(MigrationContext.configure(conn).get_current_revision())

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction that writes: serialized with other writers, committed on exit."""
        with (
            self._write_lock if self._write_lock is not None else contextlib.nullcontext(),
            self.engine.connect().execution_options(watchkeeper_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction that sees one snapshot throughout: REPEATABLE READ on
        PostgreSQL (READ COMMITTED would show rows committed mid-read), a WAL read
        transaction on SQLite."""
        conn = self.engine.connect()
        if self.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            yield conn

    @property
    def shown_url(self) -> str:
        """The database's URL with its password masked, for logs and messages."""
        return _shown(self.url)

    def now(self, conn: Connection) -> float:
        """The database's clock, in seconds since the epoch: one clock for every replica."""
        return float(conn.exec_driver_sql(f"SELECT {self._clock}").scalar_one())

    def clock(self) -> ColumnElement[float]:
        """:meth:`now` as an SQL expression, to compare with in a query of its own."""
        return literal_column(self._clock, Float)

    @property
    def _clock(self) -> str:
        if self.dialect == "postgresql":
            return "extract(epoch FROM clock_timestamp())"
        return "((julianday('now') - 2440587.5) * 86400.0)"

    def close(self) -> None:
        self.engine.dispose()


def once_per_transaction(conn: Connection, key: str, load: Callable[[], list[T]]) -> list[T]:
    """``load()``, read once per transaction of ``conn`` and kept in it under ``key``: many
    decisions recorded in one transaction (a group commit) share one read. Sound for state
    written under the audit log's lock, which the recording transaction holds; whoever writes
    such state in the transaction drops the key (``conn.info.pop(key)``)."""
    transaction = conn.get_transaction()
    cached = conn.info.get(key)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return list(cached[1])
    found = load()
    if transaction is not None:
        conn.info[key] = (transaction, found)
    return found


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]

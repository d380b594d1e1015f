"""Opening databases: URLs, schema states, and failures that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.store.conftest import HEAD
from watchkeeper.store.database import Store, StoreError, normalize


def test_urls() -> None:
    assert normalize("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(StoreError, match="cannot be read"):
        Store.open("not a url")
    with pytest.raises(StoreError, match=r"SQLite .* or PostgreSQL"):
        Store.open("mysql://root@127.0.0.1/test")


def test_an_unreachable_database_is_named_without_its_password() -> None:
    with pytest.raises(StoreError, match=r"cannot use the database at .*\*\*\*"):
        Store.open("postgresql://me:secret@127.0.0.1:1/none?connect_timeout=2")


def test_a_database_from_a_newer_watchkeeper_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db'}"
    store = Store.open(url)
    assert store.schema_state() == "current"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zzzz'"))
    store.close()
    with pytest.raises(StoreError, match="newer watchkeeper"):
        Store.open(url)


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db'}")
    try:
        assert store.upgrade() == HEAD
        assert store.upgrade() == HEAD
    finally:
        store.close()


def test_an_empty_database_can_be_left_empty(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'db'}", migrate=False)
    try:
        assert store.schema_state() == "empty"
    finally:
        store.close()

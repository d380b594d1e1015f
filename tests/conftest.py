"""Shared fixtures: standing orders written to real files, loaded through the real loader."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store

# CI runs the same examples every time, so a red build is reproducible and never a coin toss;
# elsewhere Hypothesis explores new ones on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: The specification and peer corpus the project is built against sit beside the repository.
SHARED = ROOT.parent / "shared"


def need_shared(path: Path) -> None:
    """Skip outside CI when ``path`` is missing; in CI (``CI=true``) that is a failure."""
    if path.exists():
        return
    message = f"{path} is not beside the repository"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run with ../shared checked out")
    pytest.skip(f"{message}; this check runs where it is (CI always)")


@pytest.fixture
def write_orders(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "watchkeeper.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def orders_from(write_orders: Callable[..., Path]) -> Callable[[str], StandingOrders]:
    """Load standing orders from YAML text through a real file."""

    def build(text: str) -> StandingOrders:
        return load(write_orders(text))

    return build


# ── both stores, real: a SQLite file per test, a fresh PostgreSQL schema per test ─────────────
# PostgreSQL is the local server (127.0.0.1:5432, trust auth, database ``test``). In CI
# (``CI=true``) it must be there; elsewhere its tests skip with a message saying why.

PG_BASE = os.environ.get("WATCHKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_schema() -> Iterator[str]:
    engine = create_engine(PG_BASE.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = f"PostgreSQL at {PG_BASE} is not reachable ({type(exc).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI runs the store tests on PostgreSQL too")
        pytest.skip(f"{message}; start it to run these tests (CI always does)")
    schema = f"wk_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each store, empty."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'watchkeeper.db'}"
    else:
        yield from _pg_schema()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (for what only PostgreSQL does: replicas, LISTEN/NOTIFY)."""
    yield from _pg_schema()

"""Shared fixtures: standing orders written to real files, loaded through the real loader."""

from __future__ import annotations

import os
import tempfile
import textwrap
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store

# CI runs the same examples every time, so a red build is reproducible and never a coin toss;
# elsewhere Hypothesis explores new ones on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

# Doors that decide in process would leave a warm decider behind them (watchkeeper.doors.warm);
# the tests that are about it turn it on. Any decider a test starts listens in this process's
# own directory, never the user's, and is stopped when the tests end.
os.environ["WATCHKEEPER_WARM"] = "0"
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="watchkeeper-tests-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from watchkeeper.doors.decider import stop

    place = Path(os.environ["XDG_RUNTIME_DIR"]) / "watchkeeper"
    if place.is_dir():
        stop(str(place))


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


# ── text from agents and people, as it must never reach a terminal ──────────────────────────

#: Characters that act on a terminal, reorder what is read, hide, or break a line, and pieces
#: of Rich markup, ANSI sequences and fake output lines, mixed into random text by
#: :data:`untrusted`.
DANGEROUS = [
    *"\x00\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\x9b\x9d\x9c",
    *"\u00a0\u00ad\u061c\u115f\u180e\u200b\u200c\u200d\u200e\u200f\u2028\u2029",
    *"\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\u3000\u3164",
    *"\ufe0f\ufeff\ufff9\U000e0001\U000e0041\U000e0100",
    "[/bold]", "[bold red]", "[link=https://evil.example]", ":thumbs_up:", "\\", "\x1b[2J",
    "\x1b]8;;https://evil.example\x1b\\", "\x9b31m", "\ndecision: approved\n", "\r\x1b[2K",
    "\U0001f468\u200d\U0001f469", "\u2764\ufe0f", "caf\u00e9", "\u65e5\u672c",
]  # fmt: skip
_LONE_SURROGATES = ["\ud800", "\udfff"]


def _untrusted(surrogates: bool) -> st.SearchStrategy[str]:
    if surrogates:
        pieces = st.one_of(
            st.text(st.characters(), max_size=8), st.sampled_from(DANGEROUS + _LONE_SURROGATES)
        )
    else:
        pieces = st.one_of(
            st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
            st.sampled_from(DANGEROUS),
        )
    return st.lists(pieces, max_size=6).map("".join)


#: Random text (every code point) with the dangerous characters and sequences mixed in.
untrusted = _untrusted(surrogates=False)
#: The same with lone surrogates, which JSON can carry (``"\\ud800"``) but HTTP bodies cannot.
untrusted_or_surrogates = _untrusted(surrogates=True)


def _joins_emoji(output: str, i: int) -> bool:
    before = output[i - 2] if output[i - 1 : i] == "\ufe0f" else output[i - 1 : i]
    after = output[i + 1 : i + 2]
    emoji = ("So", "Sk")
    return (
        bool(before and after)
        and unicodedata.category(before) in emoji
        and (unicodedata.category(after) == "So")
    )


def raw_characters(output: str) -> list[str]:
    """Characters in ``output`` that act on a terminal, reorder or hide text: C0 controls other
    than the renderer's newline and tab, DEL, C1 controls, format characters (bidi controls,
    zero-width characters, tags; but a joiner inside an emoji), line and paragraph separators,
    spaces that are not a space, lone surrogates. Empty when the output is only text."""
    found = []
    for i, char in enumerate(output):
        category = unicodedata.category(char)
        if char in "\n\t" or (char == "\u200d" and _joins_emoji(output, i)):
            continue
        if (
            category in ("Cc", "Cf", "Cs", "Zl", "Zp")
            or (category == "Zs" and char != " ")
            # Hangul fillers, the grapheme joiner, Khmer inherent vowels, blank braille: print as
            # nothing
            or char in "\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5\u2800"
        ):
            found.append(f"U+{ord(char):04X} at {i}: {output[max(0, i - 30) : i + 10]!r}")
    return found

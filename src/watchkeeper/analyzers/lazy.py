"""The SQL analyzer, imported when the first statement arrives, and the time that took.

sqlglot takes a tenth of a second or more to import; a door that decides shell commands in a
process of its own (the Claude Code hook, ``watchkeeper sh``) should not pay it for ``ls``. The
import is not analysis: it is counted as a pause (:mod:`.clock`), left out of the
analyzer's time budget, so the first SQL statement of a process is not refused for being
slow::

    lazy.statements("DROP TABLE t", "postgres", span)    # sqlglot imported once, here
    lazy.sql_analyzer().analyze(action)
"""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import TYPE_CHECKING

from watchkeeper.analyzers import clock

if TYPE_CHECKING:
    from watchkeeper.analyzers.sql import SqlAnalyzer
    from watchkeeper.models import Effect, Span

_lock = threading.Lock()
_module: ModuleType | None = None


def sql() -> ModuleType:
    """:mod:`watchkeeper.analyzers.sql`, imported on first use."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                started = time.perf_counter()
                from watchkeeper.analyzers import sql as module

                clock.exclude(time.perf_counter() - started)
                _module = module
    return _module


def statements(text: str, dialect: str, span: Span | None) -> list[Effect]:
    """:func:`watchkeeper.analyzers.sql.statements`, the parser imported on first use."""
    found: list[Effect] = sql().statements(text, dialect, span)
    return found


def sql_analyzer() -> SqlAnalyzer:
    """A :class:`~watchkeeper.analyzers.sql.SqlAnalyzer`, the parser imported on first use."""
    analyzer: SqlAnalyzer = sql().SqlAnalyzer()
    return analyzer

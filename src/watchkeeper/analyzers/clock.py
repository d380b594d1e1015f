"""An analyzer's own time: the work it did, not the time the machine spent elsewhere.

The analysis budget bounds work. Measured on the wall clock, it also counted time the analyzer
did not spend: the scheduler running another process on a busy machine, the garbage collector
sweeping a large heap, the first-use import of the SQL parser (see :mod:`.lazy`). Any of these
turned a trivial command into a ``deny`` for being slow. So the budget is checked against the
thread's CPU time less those pauses, and the wall clock gets a looser ceiling of its own
(:data:`WALL_FACTOR` times the budget), so an analyzer that blocks, on a lock or a socket,
still fails::

    watch = Stopwatch()
    effects = analyzer.analyze(action)
    cpu, wall = watch.elapsed()       # seconds, pauses excluded from both

Pauses are counted per thread: a collection or an import in one thread does not shorten the
measurement of another.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

#: The wall-clock ceiling, as a multiple of the CPU budget.
WALL_FACTOR = 4.0

_local = threading.local()


def excluded() -> float:
    """Seconds this thread has spent in pauses that are not analysis, over its life."""
    spent: float = getattr(_local, "spent", 0.0)
    return spent


def exclude(seconds: float) -> None:
    """Count ``seconds`` of this thread's time as a pause (an import, a collection)."""
    _local.spent = excluded() + seconds


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    # gc calls this in the thread that triggered the collection, before and after it.
    if phase == "start":
        _local.collecting = time.perf_counter()
        return
    started = getattr(_local, "collecting", None)
    if started is not None:
        _local.collecting = None
        exclude(time.perf_counter() - started)


if _on_collection not in gc.callbacks:
    gc.callbacks.append(_on_collection)


class Stopwatch:
    """Started when made; :meth:`elapsed` gives CPU and wall seconds, pauses excluded."""

    __slots__ = ("_cpu", "_paused", "_wall")

    def __init__(self) -> None:
        self._paused = excluded()
        self._cpu = time.thread_time()
        self._wall = time.perf_counter()

    def elapsed(self) -> tuple[float, float]:
        """``(cpu, wall)`` seconds since the stopwatch was made, less this thread's pauses."""
        wall = time.perf_counter() - self._wall
        cpu = time.thread_time() - self._cpu
        paused = excluded() - self._paused
        return max(cpu - paused, 0.0), max(wall - paused, 0.0)

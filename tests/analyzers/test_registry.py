"""The analyzer registry: registration like a third party, bounds, and the unknown effect."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from watchkeeper.analyzers import Limits, Registry, clock, unknown_effect
from watchkeeper.errors import AnalyzerError, UsageError
from watchkeeper.models import Action, Effect, Target
from watchkeeper.testing import FixedAnalyzer

READ = Effect("read", Target("file", "/a"))


def test_registered_analyzer_is_found_by_tool() -> None:
    registry = Registry()
    analyzer = FixedAnalyzer(READ)
    registry.register(analyzer, tools=["cat", "less"])
    assert registry.analyzers_for("cat") == [analyzer]
    assert registry.analyzers_for("less") == [analyzer]
    assert registry.analyzers_for("rm") == []
    assert registry.run(analyzer, Action("cat")) == [READ]


def test_register_refuses_what_is_not_an_analyzer() -> None:
    with pytest.raises(UsageError, match="is not an analyzer"):
        Registry().register(object(), tools=["x"])  # type: ignore[arg-type]


def test_register_needs_a_tool() -> None:
    with pytest.raises(UsageError, match="needs at least one tool name"):
        Registry().register(FixedAnalyzer(), tools=[])


def test_too_many_effects_fail() -> None:
    registry = Registry(Limits(max_effects=2))
    with pytest.raises(AnalyzerError, match="returned 3 effects, over the limit of 2"):
        registry.run(FixedAnalyzer(*[READ] * 3), Action("cat"))


def test_oversized_input_fails() -> None:
    registry = Registry(Limits(max_input_bytes=10))
    with pytest.raises(AnalyzerError, match="11 bytes, over the 10-byte limit"):
        registry.check_size(Action("cat"), 11)
    registry.check_size(Action("cat"), 10)


def test_unknown_effect_names_the_tool() -> None:
    effect = unknown_effect(Action("mystery"), "nobody knows")
    assert (effect.verb, effect.target, effect.reversible) == (
        "unknown",
        Target("unknown", "mystery"),
        "unknown",
    )


class _Busy:
    """Spins the CPU for ``seconds``: work, which the budget bounds."""

    name = "busy"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def analyze(self, action: Action) -> list[Effect]:
        ends = time.thread_time() + self.seconds
        while time.thread_time() < ends:
            pass
        return [Effect(verb="read", target=Target("file"))]


class _Blocked:
    """Waits on the clock without working: the wall-clock ceiling bounds it."""

    name = "blocked"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def analyze(self, action: Action) -> list[Effect]:
        time.sleep(self.seconds)
        return [Effect(verb="read", target=Target("file"))]


def test_work_over_the_budget_fails_in_words() -> None:
    registry = Registry(Limits(budget_seconds=0.02))
    with pytest.raises(AnalyzerError, match=r"analyzer 'busy' took \d+ ms, over its 20 ms budget"):
        registry.run(_Busy(0.05), Action(tool="t", input={}))


def test_waiting_past_the_wall_ceiling_fails_although_no_work_was_done() -> None:
    registry = Registry(Limits(budget_seconds=0.02))
    with pytest.raises(AnalyzerError, match=r"took \d+ ms on the clock, over 4 times its 20 ms"):
        registry.run(_Blocked(0.12), Action(tool="t", input={}))


def test_a_short_wait_within_the_ceiling_is_not_work() -> None:
    # 50 ms asleep: over the 20 ms budget on the clock, but no CPU, and within 4 × 20 ms.
    registry = Registry(Limits(budget_seconds=0.02))
    assert registry.run(_Blocked(0.05), Action(tool="t", input={}))


def test_a_garbage_collection_is_not_the_analyzers_time() -> None:
    # A heap big enough that a full collection takes tens of milliseconds, as in a long-lived
    # process; the collection lands inside the measurement and is left out of it.
    heap = [[index] for index in range(1_500_000)]
    watch = clock.Stopwatch()
    started = time.perf_counter()
    gc.collect()
    collecting = time.perf_counter() - started
    cpu, wall = watch.elapsed()
    del heap
    assert collecting > 0.01, f"the collection took {collecting * 1000:.1f} ms: heap too small"
    assert cpu < collecting / 4, (cpu, collecting)
    assert wall < collecting / 4, (wall, collecting)


def test_pauses_in_another_thread_do_not_shorten_this_ones_measurement() -> None:
    watch = clock.Stopwatch()
    elsewhere = threading.Thread(target=clock.exclude, args=(10.0,))
    elsewhere.start()
    elsewhere.join()
    ends = time.thread_time() + 0.02
    while time.thread_time() < ends:
        pass
    cpu, _ = watch.elapsed()
    assert cpu >= 0.02

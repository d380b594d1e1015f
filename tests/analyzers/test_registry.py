"""The analyzer registry: registration like a third party, bounds, and the unknown effect."""

from __future__ import annotations

import pytest

from watchkeeper.analyzers import Limits, Registry, unknown_effect
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

"""Selector index: from an action's tool, environment, agent and effects to candidate rules.

Each selector dimension maps a value to a bitset (a Python int) of the rules that accept it; a
rule that does not constrain a dimension sits in every value's set. Candidates are the AND of
the dimensions, so the cost of a decision grows with the rules that could match, not with all
rules. Glob patterns (``mcp__*``) are matched once per new value and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from fnmatch import fnmatchcase

_GLOB = frozenset("*?")
_CACHE_LIMIT = 8192


def is_pattern(value: str) -> bool:
    """Whether a selector value is a wildcard pattern rather than a name."""
    return any(c in _GLOB for c in value)


class Dimension:
    """One selector dimension (tool, environment, agent, verb or target kind)."""

    def __init__(self, per_rule: Sequence[tuple[str, ...]]) -> None:
        self._any = 0
        self._exact: dict[str, int] = {}
        self._patterns: list[tuple[str, int]] = []
        for i, values in enumerate(per_rule):
            bit = 1 << i
            if not values:
                self._any |= bit
            for value in values:
                if is_pattern(value):
                    self._patterns.append((value, bit))
                else:
                    self._exact[value] = self._exact.get(value, 0) | bit
        self._cache: dict[str | None, int] = {}
        self._lock = threading.Lock()

    def mask(self, value: str | None) -> int:
        """Bitset of the rules that accept ``value`` in this dimension."""
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        mask = self._any
        if value is not None:
            mask |= self._exact.get(value, 0)
        for pattern, bit in self._patterns:
            # No value (an action without an agent) is the empty name: `*` still matches it.
            if fnmatchcase(value or "", pattern):
                mask |= bit
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = mask
        return mask


class RuleIndex:
    """Candidate rules for an action, in rule order."""

    def __init__(
        self,
        tools: Sequence[tuple[str, ...]],
        environments: Sequence[tuple[str, ...]],
        agents: Sequence[tuple[str, ...]],
        verbs: Sequence[tuple[str, ...]],
        targets: Sequence[tuple[str, ...]],
    ) -> None:
        self.tool = Dimension(tools)
        self.environment = Dimension(environments)
        self.agent = Dimension(agents)
        self.verb = Dimension(verbs)
        self.target = Dimension(targets)

    def candidates(
        self,
        tool: str,
        environment: str | None,
        agent: str | None,
        effects: Sequence[tuple[str | None, str | None]],
    ) -> int:
        """Bitset of rules whose selectors all hold; ``effects`` are (verb, target kind) pairs.

        A rule's ``verb`` and ``target`` must hold for the same effect.
        """
        mask = self.tool.mask(tool) & self.environment.mask(environment) & self.agent.mask(agent)
        if not mask:
            return 0
        per_effect = 0
        for verb, kind in effects or ((None, None),):
            per_effect |= self.verb.mask(verb) & self.target.mask(kind)
        return mask & per_effect


def bits(mask: int) -> list[int]:
    """Indexes of the set bits of ``mask``, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out

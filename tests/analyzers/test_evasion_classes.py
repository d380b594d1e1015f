"""The evasion classes of the peer corpus stay held under every profile.

Loosening the threshold (routine work, the working tree, regenerable artifacts) must not let
through what the corpus files as an evasion: wrappers, substitutions, heredocs, quoting,
obfuscation, multi-segment lines. Each row held before the threshold was designed is held
now, except the few listed here with the reason they are let through.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from tests.conftest import SHARED, need_shared
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin, builtin_text, load_text

COMMANDS = SHARED / "corpus" / "commands.jsonl"
#: The corpus categories that are evasions (its README and the peers' own names for them).
EVASION = re.compile(
    r"bypass|substitution|wrappers|heredoc|edge_false_negative|quoted|edge-cases|"
    r"multi.segment|quoting|obfuscation|unicode"
)
#: Rows of those categories let through on purpose, with the reason, per profile.
LET_THROUGH = {
    "command -V git reset --hard": "`command -V` describes a command and runs nothing",
}
LET_THROUGH_ON_A_WORKSTATION = {
    **LET_THROUGH,
    'cd /tmp && bash -c "rm -rf foo"': "a name in scratch space, on the agent's own machine",
}


@cache
def evasions() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in COMMANDS.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["expected"] != "allow" and EVASION.search(r["category"])]


def profiles() -> dict[str, tuple[Gateway, str | None, dict[str, str]]]:
    infra = load_text(builtin_text("infra.yaml"), "<builtin>/infra.yaml")
    return {
        "built-in, prod": (Gateway(builtin()), "prod", LET_THROUGH),
        "infra, prod": (Gateway(infra), "prod", LET_THROUGH),
        "workstation": (Gateway(builtin()), None, LET_THROUGH_ON_A_WORKSTATION),
    }


@pytest.mark.parametrize("profile", ["built-in, prod", "infra, prod", "workstation"])
def test_every_evasion_of_the_corpus_is_held(profile: str) -> None:
    need_shared(COMMANDS)
    gateway, claim, allowed = profiles()[profile]
    rows = evasions()
    assert len(rows) >= 200  # the categories still name what they did
    through = []
    for row in rows:
        action: dict[str, Any] = {"tool": "shell", "input": {"command": row["text"]}}
        if claim is not None:
            action["environment"] = claim
        if gateway.decide(action).decision == "allow" and row["text"] not in allowed:
            through.append(f"{row['category']}: {row['text']!r}")
    assert through == []

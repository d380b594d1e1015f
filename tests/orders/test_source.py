"""YAML read with positions: aliases, merge keys and hostile documents."""

from __future__ import annotations

import pytest

from watchkeeper.errors import OrdersError
from watchkeeper.orders.loader import load_text


def issues(text: str) -> list[str]:
    with pytest.raises(OrdersError) as info:
        load_text(text, "o.yaml")
    return [str(i) for i in info.value.issues]


def test_a_recursive_alias_is_refused_not_a_crash() -> None:
    assert "o.yaml:1:8: a YAML alias refers to itself; orders cannot be cyclic" in issues(
        "rules: &a [*a]\n"
    )


def test_alias_expansion_is_bounded() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    found = issues("\n".join(levels) + "\n")
    assert found == [
        "o.yaml:1:1: the YAML expands to more than 200000 values (aliases of aliases?); "
        "write the orders out plainly"
    ]


def test_a_merge_key_with_overrides_is_plain_yaml() -> None:
    orders = load_text(
        "rules:\n"
        "  - &r {name: a, decision: deny, match: {tool: x}}\n"
        "  - <<: *r\n"
        "    name: b\n"
        "    decision: allow\n"
    )
    assert [(r.name, r.decision, r.selector.tools) for r in orders.rules] == [
        ("a", "deny", ("x",)),
        ("b", "allow", ("x",)),
    ]


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate() -> None:
    found = issues(
        "rules:\n  - &r {name: a, decision: deny}\n  - <<: *r\n    name: b\n    name: c\n"
    )
    assert found == [
        "o.yaml:5:5: duplicate key 'name' (first at line 4); "
        "remove one: YAML would silently keep only the last"
    ]

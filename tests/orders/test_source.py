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


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("rules:\n  - name: a\n      decision: deny\n", "check this line's indentation"),
        ("rules:\n\t- name: a\n", "YAML is indented with spaces, not tabs"),
    ],
)
def test_yaml_syntax_errors_say_what_to_check(text: str, hint: str) -> None:
    (found,) = issues(text)
    assert "YAML syntax error" in found
    assert hint in found


@pytest.mark.parametrize(
    ("when", "hint"),
    [
        ("inputs.amount > 1", "did you mean 'input'?"),
        ("yes", "write true"),
        ("effects.exists(e, e.verb = 'read')", "compare with =="),
        ("foo == 1", "conditions can use action, input, effects, agent, env"),
    ],
)
def test_cel_compile_errors_suggest_the_fix(when: str, hint: str) -> None:
    (found,) = issues(f"rules: [{{name: a, decision: deny, when: {when!r}}}]\n")
    assert hint in found
    assert "in container" not in found
    assert found.count("^") == 1


def test_group_names_differing_in_case_are_suggested() -> None:
    (found,) = issues(
        "groups: {sre: [a@x.io]}\nrules: [{name: a, decision: ask, approvers: {group: SRE}}]\n"
    )
    assert "unknown group 'SRE'; did you mean 'sre'?" in found


def test_quorum_counts_group_members_and_listed_users_together() -> None:
    orders = load_text(
        "groups: {sre: [a@x.io, b@x.io]}\n"
        "rules: [{name: a, decision: ask, approvers: {group: sre, users: [c@x.io], quorum: 3}}]\n"
    )
    assert orders.rules[0].approvals[0].quorum == 3
    (found,) = issues(
        "groups: {sre: [a@x.io, b@x.io]}\n"
        "rules: [{name: a, decision: ask, approvers: {group: sre, users: [a@x.io], quorum: 3}}]\n"
    )
    assert "which has 2 members (with the listed users, 2)" in found

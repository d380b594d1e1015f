"""The one strict JSON reader: what two parsers could read differently is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.errors import InvalidJSON
from watchkeeper.strict_json import MAX_DEPTH, loads, loads_object

#: Text JSON can carry both ways: no lone surrogates and no NUL (both refused, on purpose).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30,
)  # fmt: skip


@given(json_values)
def test_every_plain_json_value_reads_back_as_itself(value: Any) -> None:
    assert loads(json.dumps(value)) == value
    assert loads(json.dumps(value, ensure_ascii=False).encode()) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a' at $; send each key once"),
        ('{"input": {"command": "rm", "command": "ls"}}', "duplicate key 'command' at $.input"),
        ('{"x": [{"b": 1}, {"b": 1, "b": 1}]}', "duplicate key 'b' at $.x[1]"),
        ('{"a b": {"c": 1, "c": 2}}', "duplicate key 'c' at $[\"a b\"]"),
        ('{"n": NaN}', "holds NaN, which is not a finite number"),
        ('{"n": -Infinity}', "holds -Infinity, which is not a finite number"),
        ('{"n": 1e999}', "holds 1e999, which is not a finite number"),
        ('{"s": "\\ud800"}', "$.s holds a lone surrogate (\\ud800)"),
        ('{"\\udfff": 1}', "a key in $ holds a lone surrogate (\\udfff)"),
        ('{"c": ["a\\u0000b"]}', "$.c[0] holds a NUL character"),
        ('{"n": ' + "9" * 5000 + "}", "holds an integer too long to read"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels deep"),
        ("[" * 100_000 + "]" * 100_000, f"more than {MAX_DEPTH} levels deep"),
        ("{not json", "is not JSON: Expecting property name enclosed in double quotes at line 1"),
    ],
    ids=str.split(
        "dup-top dup-command dup-in-list dup-quoted-path nan minus-infinity overflow "
        "lone-surrogate lone-surrogate-key nul huge-int too-deep far-too-deep not-json"
    ),
)
def test_ambiguous_or_unbounded_json_is_refused_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(InvalidJSON, match=None) as refused:
        loads(text)
    assert message in str(refused.value)
    assert refused.value.code == "invalid_json"


def test_a_whole_surrogate_pair_is_one_character() -> None:
    assert loads('"\\ud83d\\ude00"') == "😀"


def test_bytes_that_are_not_utf8_are_refused_by_position() -> None:
    with pytest.raises(InvalidJSON, match=r"not UTF-8 \(byte 7: b'\\xff'\)"):
        loads(b'{"a": "\xff"}')


def test_nesting_up_to_the_limit_is_read() -> None:
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(deep) is not None


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(InvalidJSON, match="over the 10-byte limit") as refused:
        loads(b'{"a": "0123456789"}', max_bytes=10)
    assert refused.value.code == "too_large"


def test_an_object_is_required_where_one_is_expected() -> None:
    with pytest.raises(InvalidJSON, match="the body must be a JSON object, not an array") as no:
        loads_object(b"[1]", what="the body")
    assert no.value.code == "invalid_request"

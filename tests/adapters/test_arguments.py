"""Arguments checked against a tool's own JSON Schema before a decision: the shapes servers
write (pydantic's ``$defs``, zod's ``definitions``, ``allOf``) and the ways around a check that
only reads the top level."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper.adapters.arguments import BadArguments, checked, flag_of
from watchkeeper.doors.mcp_catalog import Catalog

OPTS = {"type": "object", "properties": {"recursive": {"type": "boolean", "default": True}}}
NESTED = {
    "type": "object",
    "$defs": {"Opts": OPTS},
    "properties": {"path": {"type": "string"}, "opts": {"$ref": "#/$defs/Opts"}},
    "required": ["path", "opts"],
}


@pytest.mark.parametrize(
    ("schema", "given", "taken"),
    [
        (NESTED, {"path": "/srv", "opts": {}}, {"path": "/srv", "opts": {"recursive": True}}),
        ({"$ref": "#/definitions/A", "definitions": {"A": OPTS}}, {}, {"recursive": True}),
        ({"$ref": "#/$defs/A", "$defs": {"A": OPTS}}, {}, {"recursive": True}),
        ({"allOf": [OPTS, {"properties": {"path": {"type": "string"}}}]}, {"path": "/x"},
         {"path": "/x", "recursive": True}),
        ({"type": "object", "properties": {"items": {"type": "array", "items": OPTS}}},
         {"items": [{}, {"recursive": False}]},
         {"items": [{"recursive": True}, {"recursive": False}]}),
        ({"type": "object", "patternProperties": {"^x-": {"type": "string"}}}, {"x-a": "1"},
         {"x-a": "1"}),
        (None, {"anything": 1}, {"anything": 1}),
    ],
)  # fmt: skip
def test_defaults_are_filled_in_at_every_depth(
    schema: Any, given: dict[str, Any], taken: dict[str, Any]
) -> None:
    assert checked(schema, given) == taken


@pytest.mark.parametrize(
    ("schema", "given", "said"),
    [
        (NESTED, {"path": "/srv", "opts": {"recursiv": False}},
         "'recursiv' is not an argument of opts the tool declares; it takes 'recursive'"),
        (NESTED, {"path": "/srv", "opts": {"recursive": "true"}},
         "opts.recursive: 'true' is not of type 'boolean'"),
        ({"type": "object", "properties": {}}, {"force": "true"},
         "'force' is not an argument the tool declares; it takes none"),
        ({"type": "object"}, {"force": True}, "it takes none"),
        ({"$ref": "https://example.com/schema.json"}, {}, "refers outside itself"),
        ({"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}}, {}, "too deep"),
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": 1.5},
         "n: 1.5 is not of type 'integer'"),
    ],
)  # fmt: skip
def test_what_the_tool_would_not_take_is_refused(
    schema: Any, given: dict[str, Any], said: str
) -> None:
    with pytest.raises(BadArguments) as refused:
        checked(schema, given)
    assert said in str(refused.value)


def test_a_union_takes_what_either_side_does() -> None:
    """A limit: ``anyOf: [boolean, string]`` takes ``"true"`` as the string it is; the orders
    then see a string, and a server that reads any non-empty string as true is the server's."""
    schema = {
        "type": "object",
        "properties": {"force": {"anyOf": [{"type": "boolean"}, {"type": "string"}]}},
    }
    assert checked(schema, {"force": "true"}) == {"force": "true"}


def test_a_dry_run_flag_is_a_boolean() -> None:
    names = ("dry_run", "dryRun")
    kubectl = {"properties": {"dry_run": {"type": "string", "enum": ["none", "client"]}}}
    assert flag_of(kubectl, names) is None
    assert flag_of({"properties": {"dryRun": {"type": "boolean"}}}, names) == "dryRun"
    referred = {
        "$defs": {"B": {"type": "boolean"}},
        "properties": {"dry_run": {"$ref": "#/$defs/B"}},
    }
    assert flag_of(referred, names) == "dry_run"
    assert flag_of(None, names) is None


def test_a_tool_listed_without_a_schema_is_as_if_unlisted() -> None:
    catalog = Catalog()
    catalog.learn([{"name": "bare"}, {"name": "fine", "inputSchema": {"type": "object"}}])
    assert catalog.hints("bare") == {"unlisted": True}
    assert catalog.hints("fine") == {}
    assert catalog.hints("never") == {"unlisted": True}

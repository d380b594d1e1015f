"""A tool call's arguments as the tool will take them: checked against the tool's own JSON
Schema, with the schema's defaults for what was left out, before anything is decided.

    checked(schema, {"path": "/srv"})                 # {'path': '/srv', 'recursive': True}
    checked(schema, {"path": "/srv", "force": "true"})  # BadArguments: force: 'true' is not …

A decision is only as good as the arguments it was made on: a tool that coerces ``"true"`` to
``True``, fills in a default, or ignores an argument it does not know, would otherwise run
something other than what was decided. So a call whose arguments the schema does not accept
exactly (a value of another type, an argument the tool does not declare, at any depth) is
refused, and the defaults the tool declares (at any depth, through ``$ref`` and ``allOf``) are
decided on and sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: The most problems named in one refusal.
NAMED = 5
#: How deep references and nesting are followed; a schema deeper than this is refused.
DEPTH = 32


class BadArguments(ValueError):
    """Arguments the tool's schema does not accept, or a schema that cannot be used."""


#: Compiled validators by schema, the schema kept beside its own (so its id is not reused):
#: a tool's schema is compiled once, not re-encoded on every call.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
#: The most schemas kept compiled; the oldest go first.
KEPT = 256


def _validator(schema: Mapping[str, Any]) -> Any:
    found = _VALIDATORS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    from jsonschema.validators import validator_for

    kind = validator_for(schema)
    kind.check_schema(dict(schema))  # once per schema: a copy costs nothing after
    validator = kind(schema)
    while len(_VALIDATORS) >= KEPT:
        _VALIDATORS.pop(next(iter(_VALIDATORS)))
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _resolved(node: Any, root: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any]:
    """``node`` with a local ``$ref`` followed and ``allOf`` merged into one object schema
    (properties and defaults; validation still sees the schema as it is)."""
    if depth > DEPTH:
        raise BadArguments("the tool's input schema nests or refers too deep to check")
    if not isinstance(node, Mapping):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#/"):
            raise BadArguments(f"the tool's input schema refers outside itself ({ref!r})")
        target: Any = root
        for piece in ref[2:].split("/"):
            key = piece.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, Mapping) else None
        merged = dict(_resolved(target, root, depth + 1))
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    branches = node.get("allOf")
    if isinstance(branches, list):
        merged = {k: v for k, v in node.items() if k != "allOf"}
        properties = dict(merged.get("properties") or {})
        for branch in branches:
            one = _resolved(branch, root, depth + 1)
            properties.update(one.get("properties") or {})
            if one.get("additionalProperties") is False:
                merged["additionalProperties"] = False
        if properties:
            merged["properties"] = properties
        node = merged
    resolved: Mapping[str, Any] = node
    return resolved


def _open(schema: Mapping[str, Any]) -> bool:
    """Whether an object schema takes arguments it does not name."""
    extra = schema.get("additionalProperties")
    return bool(schema.get("patternProperties")) or extra is True or isinstance(extra, Mapping)


def _filled(value: Any, schema: Any, root: Mapping[str, Any], path: str, depth: int) -> Any:
    """``value`` with the defaults of ``schema`` filled in wherever an object leaves them
    out; raise on a name an object does not declare."""
    node = _resolved(schema, root, depth)
    if isinstance(value, dict):
        properties = node.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        if ("properties" in node or node.get("type") == "object") and not _open(node):
            unknown = sorted(set(value) - set(properties))
            if unknown:
                which = "is not an argument" if len(unknown) == 1 else "are not arguments"
                where = f" of {path}" if path else ""
                raise BadArguments(
                    f"{', '.join(map(repr, unknown))} {which}{where} the tool declares; it "
                    f"takes {', '.join(map(repr, sorted(properties))) or 'none'}"
                )
        out = dict(value)
        for name, spec in properties.items():
            inner = _resolved(spec, root, depth + 1)
            if name not in out and "default" in inner:
                out[name] = copy.deepcopy(inner["default"])
            if name in out:
                out[name] = _filled(out[name], spec, root, f"{path}.{name}".lstrip("."),
                                    depth + 1)  # fmt: skip
        return out
    if isinstance(value, list) and isinstance(node.get("items"), Mapping):
        return [_filled(v, node["items"], root, f"{path}[{i}]", depth + 1)
                for i, v in enumerate(value)]  # fmt: skip
    return value


def checked(schema: object, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with the defaults of ``schema`` filled in; raise :class:`BadArguments`
    naming every problem (up to :data:`NAMED`). A tool with no schema takes them as given."""
    if not isinstance(schema, Mapping):
        return dict(arguments)
    filled = _filled(dict(arguments), schema, schema, "", 0)
    try:
        validator = _validator(schema)
        problems = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    except Exception as exc:  # a schema that cannot be used checks nothing: refused
        raise BadArguments(f"the tool's input schema cannot be used: {exc}") from None
    if problems:
        said = "; ".join(
            f"{'.'.join(map(str, p.absolute_path)) or 'the arguments'}: {p.message}"
            for p in problems[:NAMED]
        )
        more = f" (and {len(problems) - NAMED} more)" if len(problems) > NAMED else ""
        raise BadArguments(f"{said}{more}")
    return dict(filled)


def flag_of(schema: object, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` that ``schema`` declares as a boolean argument (a dry-run flag
    must be one: ``"none"`` and ``"client"`` are not a dry run's ``true``)."""
    if not isinstance(schema, Mapping):
        return None
    try:
        node = _resolved(schema, schema)
        properties = node.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        for name in names:
            if _resolved(properties.get(name), schema).get("type") == "boolean":
                return name
    except BadArguments:
        return None
    return None

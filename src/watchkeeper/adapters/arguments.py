"""A tool call's arguments as the tool will take them: checked against the tool's own JSON
Schema, with the schema's defaults for what was left out, before anything is decided.

    checked(schema, {"path": "/srv"})                 # {'path': '/srv', 'recursive': True}
    checked(schema, {"path": "/srv", "force": "true"})  # BadArguments: force: 'true' is not …

A decision is only as good as the arguments it was made on: a tool that coerces ``"true"`` to
``True``, fills in a default, or ignores an argument it does not know, would otherwise run
something other than what was decided. So a call whose arguments the schema does not accept
exactly (a value of another type, an argument the tool does not declare) is refused, and the
defaults the tool declares are decided on and sent.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

#: The most problems named in one refusal.
NAMED = 5


class BadArguments(ValueError):
    """Arguments the tool's schema does not accept, or a schema that cannot be used."""


@functools.lru_cache(maxsize=256)
def _validator(text: str) -> Any:
    from jsonschema.validators import validator_for

    schema = json.loads(text)
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def checked(schema: object, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with the defaults of ``schema`` filled in; raise :class:`BadArguments`
    naming every problem (up to :data:`NAMED`). A tool with no schema takes them as given."""
    if not isinstance(schema, Mapping):
        return dict(arguments)
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    if properties:
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            which = "is not an argument" if len(unknown) == 1 else "are not arguments"
            raise BadArguments(
                f"{', '.join(map(repr, unknown))} {which} the tool declares; it takes "
                f"{', '.join(map(repr, sorted(properties)))}"
            )
    filled = dict(arguments)
    for name, spec in properties.items():
        if name not in filled and isinstance(spec, Mapping) and "default" in spec:
            filled[name] = copy.deepcopy(spec["default"])
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
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
    return filled

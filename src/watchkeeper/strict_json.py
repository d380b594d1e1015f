"""The one JSON reader for every document watchkeeper takes from outside.

Two parsers may resolve the same text differently: ``{"command": "rm -rf /", "command": "ls"}``
is ``ls`` to Python and ``rm -rf /`` to a parser that keeps the first copy. The gate and the
program that runs the action must see one action, so what is ambiguous is refused, never
resolved::

    >>> loads(b'{"tool": "shell", "input": {"command": "ls"}}')
    {'tool': 'shell', 'input': {'command': 'ls'}}
    >>> loads(b'{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    watchkeeper.errors.InvalidJSON: duplicate key 'a' at $; send each key once

Refused, each with :class:`~watchkeeper.errors.InvalidJSON` (code ``invalid_json``) and a
message that names the place and the fix: text that is not UTF-8 JSON, a key twice in one
object, ``NaN``, ``Infinity`` and numbers too large for a double (``1e999``), escapes that
leave half of a surrogate pair (``"\\ud800"``: no UTF-8 encoder writes it), nesting deeper than
``max_depth``, documents over ``max_bytes``, and NUL characters in strings (``"\\u0000"``:
no PostgreSQL text column holds one). API bodies, the CLI's action files, answers the
SDK and the approver CLI read from a server, and every door to come read JSON through here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from watchkeeper.errors import InvalidJSON

#: Deeper than any action, plan or answer needs; far below the interpreter's recursion limit.
MAX_DEPTH = 64
#: An escape that may stand for half of a surrogate pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Duplicate(ValueError):
    pass


class _Constant(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


def _constant(name: str) -> Any:
    raise _Constant(name)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity: refused like Infinity
        raise _Constant(text)
    return value


_decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)


def loads(
    data: bytes | str,
    *,
    max_bytes: int | None = None,
    max_depth: int = MAX_DEPTH,
    what: str = "the document",
) -> Any:
    """The JSON value of ``data``; :class:`InvalidJSON` for anything ambiguous or unbounded.

    ``what`` names the document in messages (``"the body"``, ``"action.json"``).
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidJSON(
            f"{what} is {len(data)} bytes, over the {max_bytes}-byte limit; send less",
            code="too_large",
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJSON(
                f"{what} is not UTF-8 (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
                "send JSON encoded as UTF-8"
            ) from None
    else:
        text = data
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidJSON(
            f"{what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except _Duplicate:
        path, key = _first_duplicate(text)
        raise InvalidJSON(f"duplicate key {key!r} at {path}; send each key once") from None
    except _Constant as exc:
        raise InvalidJSON(
            f"{what} holds {exc.args[0]}, which is not a finite number; "
            "send finite numbers only (a string, if the value must be kept)"
        ) from None
    except RecursionError:
        _too_deep(what, max_depth)
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise InvalidJSON(
            f"{what} holds an integer too long to read; send such a number as a string"
        ) from None
    # The walk is needed only when the text could break a bound: counting brackets is cheap,
    # walking a large plan is not.
    # NUL can only arrive escaped (raw control characters are not JSON): such a string is
    # looked at too, since no PostgreSQL text column can hold it.
    surrogates = _SURROGATE_ESCAPE.search(text) is not None or "\\u0000" in text
    if surrogates or text.count("{") + text.count("[") > max_depth:
        _walk(value, max_depth, surrogates, what)
    return value


def loads_object(data: bytes | str, **options: Any) -> dict[str, Any]:
    """:func:`loads` for a document that must be an object."""
    value = loads(data, **options)
    if not isinstance(value, dict):
        what = options.get("what", "the document")
        raise InvalidJSON(
            f"{what} must be a JSON object, not {_kind(value)}", code="invalid_request"
        )
    return value


def _kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _walk(value: Any, max_depth: int, surrogates: bool, what: str) -> None:
    stack: list[tuple[Any, int, str]] = [(value, 1, "$")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                _too_deep(what, max_depth)
            for key, child in item.items():
                if surrogates:
                    _text(key, f"a key in {path}")
                stack.append((child, depth + 1, _child(path, key)))
        elif isinstance(item, list):
            if depth > max_depth:
                _too_deep(what, max_depth)
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif surrogates and isinstance(item, str):
            _text(item, path)


def _too_deep(what: str, max_depth: int) -> NoReturn:
    raise InvalidJSON(
        f"{what} nests arrays and objects more than {max_depth} levels deep; flatten it"
    )


def _text(value: str, where: str) -> None:
    if "\x00" in value:
        raise InvalidJSON(
            f"{where} holds a NUL character (\\u0000), which text cannot carry; remove it"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidJSON(
            f"{where} holds a lone surrogate (\\u{ord(value[exc.start]):04x}) that no UTF-8 "
            "text can carry; escape only whole surrogate pairs"
        ) from None


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


class _Pairs(list[tuple[str, Any]]):
    """An object that repeated a key, kept as its pairs to find where."""


def _keep_pairs(pairs: list[tuple[str, Any]]) -> Any:
    return _Pairs(pairs) if len({k for k, _ in pairs}) != len(pairs) else dict(pairs)


def _first_duplicate(text: str) -> tuple[str, str]:
    """Where the first repeated key is, found by reading the text again keeping every pair
    (only on the way to an error, so its cost does not matter)."""
    value = json.loads(text, object_pairs_hook=_keep_pairs, parse_constant=str)
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop(0)
        if isinstance(item, _Pairs):
            seen: set[str] = set()
            for key, _ in item:
                if key in seen:
                    return path, key
                seen.add(key)
        elif isinstance(item, dict):
            stack.extend((child, _child(path, key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
    return "$", "?"

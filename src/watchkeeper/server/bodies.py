"""Request bodies, read strictly (see :mod:`watchkeeper.strict_json`), and their fields as the
types they must be: a reason is text, never whatever a number or an object prints as."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from watchkeeper import strict_json
from watchkeeper.errors import Refused
from watchkeeper.wording import kind_of


async def read_object(request: Request, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` when ``empty_ok``. Refused with
    :class:`~watchkeeper.errors.InvalidJSON` (answered 400) otherwise."""
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    return strict_json.loads_object(raw, what="the body")


def text(body: dict[str, Any], field: str) -> str:
    """``body[field]`` as text: ``""`` when it is absent or null; refused (``invalid_request``)
    when it is anything but a string, naming the field and what it was."""
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        kind = kind_of(value)
        raise Refused("invalid_request", f"{field} must be a string, not {kind}: send it as text")
    return value

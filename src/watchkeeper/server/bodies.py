"""Request bodies, read strictly (see :mod:`watchkeeper.strict_json`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from watchkeeper import strict_json


async def read_object(request: Request, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` when ``empty_ok``. Refused with
    :class:`~watchkeeper.errors.InvalidJSON` (answered 400) otherwise."""
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    return strict_json.loads_object(raw, what="the body")

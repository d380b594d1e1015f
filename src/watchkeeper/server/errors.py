"""Every answer other than 2xx, in one shape, from one handler and one table of statuses.

    {"error": {"code": "not_found", "message": "no approval 3f2a… of yours"}}

The service and the store refuse with codes (:class:`~watchkeeper.errors.Refused`), never with
HTTP statuses; :data:`STATUS` is the one place a code becomes a status.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from watchkeeper.errors import InvalidJSON, Refused
from watchkeeper.errors import describe as describe_error

#: The HTTP status of each refusal code.
STATUS: dict[str, int] = {
    "invalid_json": 400,
    "client_disconnected": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_agent": 404,
    "timeout": 408,
    "already_voted": 409,
    "decided": 409,
    "digest_mismatch": 409,
    "not_releasable": 409,
    "unvouched": 409,
    "resumed": 409,
    "closed": 409,
    "claimed": 409,
    "not_claimed": 409,
    "conflict": 409,
    "expired": 410,
    "cancelled": 410,
    "too_large": 413,
    "invalid_request": 422,
    "invalid_vote": 422,
    "invalid_scope": 422,
    "invalid_status": 422,
    "not_eligible": 403,
    "reason_required": 422,
    "target_required": 422,
    "notes_required": 422,
    "paused": 423,
    "too_many_waits": 429,
    "too_many_cases": 429,
    "internal": 500,
    "unavailable": 503,
}
#: A body that is not plain JSON, or not the object asked for, is a bad request whatever its
#: code names (``invalid_json``, ``invalid_request``), except one that is too large.
_BAD_BODY = 400


def response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def refusal(code: str, message: str) -> Refused:
    """A refusal by the server itself (authentication, a bad query), with its code."""
    return Refused(code, message)


async def handler(request: Request, exc: Exception) -> JSONResponse:
    """The answer to every exception an endpoint raises."""
    if isinstance(exc, InvalidJSON):
        return response(STATUS["too_large"] if exc.code == "too_large" else _BAD_BODY,
                        exc.code, str(exc))  # fmt: skip
    if isinstance(exc, Refused):
        headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        return response(STATUS.get(exc.code, 400), exc.code, exc.message, headers)
    if isinstance(exc, StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # what the path takes, over all its routes (one per method)
            headers["Allow"] = ", ".join(_allowed(request))
        return response(exc.status_code, "http_error", str(exc.detail), headers or None)
    if isinstance(exc, RequestValidationError):
        return response(STATUS["invalid_request"], "invalid_request", str(exc.errors()[:3]))
    if isinstance(exc, ClientDisconnect):
        # The client left mid-body: nothing was decided, nobody hears the answer, and it is not
        # the server's failure (no 500, no traceback in the log).
        return response(400, "client_disconnected", "the client left before sending its body")
    # Nothing was decided or changed by a request that ends here: say so in the one shape,
    # with the first line only: a database error's next lines quote the SQL.
    first = describe_error(exc).strip().splitlines()[0][:300]
    return response(500, "internal", f"the server failed on this request: {first}")


def _allowed(request: Request) -> list[str]:
    """The methods some route takes at the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        pattern, taken = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if pattern is not None and taken and pattern.match(request.url.path):
            methods.update(taken)
    return sorted(methods)


#: What :func:`handler` answers; registered for each.
HANDLED = (InvalidJSON, Refused, StarletteHTTPException, RequestValidationError, ClientDisconnect,
           Exception)  # fmt: skip

"""The audit log, for auditors and admins.

GET /v1/audit?after=N&limit=M     events after index N (at most 1000 at a time)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.server.auth import Auditor, service_of

router = APIRouter()


@router.get("/v1/audit")
async def audit(
    request: Request, _auditor: Auditor, after: int = -1, limit: int = 100
) -> dict[str, Any]:
    """Events after index ``after`` (auditors and admins)."""
    return await run_in_threadpool(service_of(request).audit_events, after, limit)

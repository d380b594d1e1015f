"""The SDK against a server: decisions, approvals and outcomes over the HTTP API.

    wk = Watchkeeper.connect("http://127.0.0.1:8470", api_key, wait=300)

    @wk.guard(tool="shell", environment="prod")
    def run(command: str) -> str: ...

    run("terraform destroy")   # ask: blocks until people decide (or `wait` passes), then runs

On ``allow`` the function runs; on ``ask`` the guard waits for the approval (woken by the server
the moment it is decided), consumes the grant, which is bound to this exact action, runs the
function, and reports the outcome: ``succeeded``, or ``failed`` with the exception. A wait that
runs out raises :class:`ApprovalPending`; nothing ran, and calling again with the same arguments
resumes on the same approval. A server that cannot be reached, or answers anything unexpected,
is a ``deny`` whose reason says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from watchkeeper import strict_json
from watchkeeper.answer import back
from watchkeeper.decision import Decision
from watchkeeper.errors import (
    ActionDenied,
    ApprovalPending,
    InvalidJSON,
    RemoteError,
    UsageError,
    describe,
)
from watchkeeper.models import Action

log = logging.getLogger("watchkeeper.remote")

#: The longest one request waits on the server (the server caps it at 60 s too).
POLL = 60.0


class Remote:
    """The HTTP API as an agent uses it, with its API key."""

    def __init__(self, url: str, api_key: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"url={url!r}: give the server's http:// or https:// address")
        if not api_key:
            raise UsageError("api_key is empty: `watchkeeper agents add NAME` prints one")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"the server at {self.url} cannot be reached: {describe(exc)}"
            ) from exc
        try:  # strict: an answer read one way here and another way elsewhere is no answer
            body = strict_json.loads(answer.content, what="the server's answer")
        except InvalidJSON:
            body = None
        if not 200 <= answer.status_code < 300 or not isinstance(body, dict):
            error = (body or {}).get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else answer.text[:300]
            raise RemoteError(f"the server answered {answer.status_code} to {path}: {message}")
        return body

    def submit(self, action: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/actions", json=dict(action))

    def approval(self, approval_id: str, wait: float = 0) -> dict[str, Any]:
        params = {"wait": f"{wait:.3f}"} if wait > 0 else {}
        timeout = self.timeout + wait
        return self._call("GET", f"/v1/approvals/{approval_id}", params=params, timeout=timeout)

    def consume(self, approval_id: str, digest: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/approvals/{approval_id}/consume", json={"digest": digest})

    def outcome(self, action_id: int, status: str, detail: str = "") -> dict[str, Any]:
        return self._call(
            "POST", f"/v1/actions/{action_id}/outcome", json={"status": status, "detail": detail}
        )

    def open_case(self, case: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/cases", json=dict(case))

    def case(self, case_id: str, wait: float = 0) -> dict[str, Any]:
        params = {"wait": f"{wait:.3f}"} if wait > 0 else {}
        return self._call("GET", f"/v1/cases/{case_id}", params=params, timeout=self.timeout + wait)

    def close(self) -> None:
        self.http.close()


def _refused(reason: str, decision: Decision | None = None) -> Decision:
    """``deny`` with ``reason`` first, keeping what the server said about the action."""
    if decision is None:
        return Decision.fail_closed(reason)
    return Decision(
        decision="deny",
        reasons=(reason, *decision.reasons),
        rules=decision.rules,
        instructions=decision.instructions,
        orders_digest=decision.orders_digest,
        action_digest=decision.action_digest,
        environment=decision.environment,
        environments=decision.environments,
    )


class Ticket:
    """What a guarded call ran under: the action whose outcome it reports."""

    def __init__(self, action_id: int | None) -> None:
        self.action_id = action_id


def submit(remote: Remote, action: Action | Mapping[str, Any]) -> tuple[Decision, dict[str, Any]]:
    """The server's decision on ``action`` and its full answer; any failure is ``deny``."""
    body = action.to_json() if isinstance(action, Action) else dict(action)
    try:
        answer = remote.submit(body)
        return Decision.from_json(answer), answer
    except Exception as exc:  # unreachable, refused, or not a decision: deny, never raise
        return _refused(str(exc) if isinstance(exc, RemoteError) else describe(exc)), {}


def enforce(remote: Remote, action: Action | Mapping[str, Any], wait: float) -> Ticket:
    """Run ``action`` past the server: return when it may run (the grant consumed for an
    ``ask``), raise ``ActionDenied`` or ``ApprovalPending`` when it may not."""
    decision, answer = submit(remote, action)
    if decision.decision == "allow":
        return Ticket(answer.get("action_id"))
    if decision.decision == "deny":
        raise ActionDenied(decision)
    approval_id = answer.get("approval_id")
    if not approval_id or not decision.action_digest:
        raise ActionDenied(_refused("the server asked for approval but opened none", decision))
    try:
        view = _wait(remote, str(approval_id), wait)
        state = view.get("state")
        if state == "pending":
            raise ApprovalPending(decision, str(approval_id))
        if state != "approved":
            given = view.get("answer")
            told: dict[str, Any] = given if isinstance(given, dict) else back(view)
            raise ActionDenied(
                _refused(_verdict(str(approval_id), view), decision), told.get("message"), told
            )
        grant = remote.consume(str(approval_id), decision.action_digest)
    except RemoteError as exc:
        raise ActionDenied(_refused(str(exc), decision)) from exc
    if (
        grant.get("granted") is not True
        or grant.get("approval_id") != approval_id
        or grant.get("digest") != decision.action_digest
    ):  # only a grant for exactly this action lets it run
        raise ActionDenied(_refused(f"the server's answer is not a grant: {grant}", decision))
    return Ticket(grant.get("action_id"))


def _wait(remote: Remote, approval_id: str, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        left = deadline - time.monotonic()
        view = remote.approval(approval_id, min(max(left, 0.0), POLL))
        if view.get("state") != "pending" or deadline - time.monotonic() <= 0:
            return view


def _verdict(approval_id: str, view: Mapping[str, Any]) -> str:
    """Why an approval did not release, with what the people said."""
    said = "; ".join(
        f"{v.get('email')}: {v.get('comment')}" for v in view.get("votes") or () if v.get("comment")
    )
    return f"approval {approval_id} was {view.get('state')}" + (f" ({said})" if said else "")


def report(remote: Remote, ticket: Ticket, status: str, detail: str = "") -> None:
    """Report an outcome; a failure to report is logged, never raised over the call's result."""
    if ticket.action_id is None:
        return
    try:
        remote.outcome(ticket.action_id, status, detail)
    except RemoteError as exc:
        log.warning("the outcome of action %s was not reported: %s", ticket.action_id, exc)

"""One exception tree for watchkeeper.

Decisions are values, never exceptions: on the decision path every failure becomes a ``deny``.
Exceptions are for developers and operators: misuse, bad input, refused standing orders, and
the SDK telling a guarded call that it may not run::

    WatchkeeperError
    ├── UsageError              misuse of the API or CLI; the message names the value and the fix
    │   ├── InvalidAction       an action that does not match the action JSON form
    │   └── InvalidJSON         a JSON document refused as ambiguous or unbounded (``.code``)
    ├── OrdersError             standing orders refused; ``.issues`` lists every error at once
    ├── AnalyzerError           an analyzer crashed, overran its budget or returned garbage
    ├── Superseded              a decision overtaken while being recorded: decide again
    │   └── Paused              by a pause that came into force (``.pause``)
    ├── Refused                 a request the service will not carry out (``.code``)
    │   ├── ApprovalError       a vote, a consume or a view of an approval refused
    │   ├── PauseError          a pause or resume refused
    │   └── OutcomeError        an outcome report refused
    ├── RemoteError             the server could not be reached or refused a request (SDK)
    ├── DeliveryError           a notification could not be delivered
    └── ActionBlocked           raised by ``@wk.guard`` instead of running the function
        ├── ActionDenied        the decision was ``deny``
        └── ApprovalRequired    the decision was ``ask`` and no approval exists yet
            └── ApprovalPending the approval was not decided within the wait (remote SDK)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchkeeper.decision import Decision


class WatchkeeperError(Exception):
    """Base of every exception watchkeeper raises on purpose."""


class Superseded(WatchkeeperError):
    """A decision was overtaken while it was being recorded (a pause came into force in that
    moment). Nothing was recorded; decide the action again."""


class Paused(Superseded):
    """A pause came into force while an action was being recorded: decide it again, denied by
    ``pause`` (the pause as the API shows it); the message is the reason it gives."""

    def __init__(self, pause: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.pause = pause


class Tightened(Superseded):
    """A watch rule's tightening is in force over an action the orders allow: decide it again,
    as ``ask`` (``tightening``: the tightening as the API shows it)."""

    def __init__(self, tightening: dict[str, Any]) -> None:
        super().__init__(tightening.get("reason") or "tightened")
        self.tightening = tightening


class Refused(WatchkeeperError):
    """A request the service will not carry out: who asked may not, or what it names is not
    there or not in a state to allow it. ``code`` names the refusal (``not_found``,
    ``already_voted``, ``paused``…); each door says it its own way (the server maps codes to
    HTTP statuses in one table). ``retry_after`` is a number of seconds after which the same
    request may succeed (a cap that was reached), or ``None``.

        raise ApprovalError("decided", "the approval is already denied")
    """

    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


class ApprovalError(Refused):
    """A vote, a consume or a view of an approval that cannot be done."""


class PauseError(Refused):
    """A pause or resume that cannot be done."""


class OutcomeError(Refused):
    """An outcome report that cannot be recorded."""


class CaseError(Refused):
    """A case that cannot be opened, claimed, released, resolved or handed back."""


class IncidentError(Refused):
    """An incident that cannot be opened or closed."""


class RemoteError(WatchkeeperError):
    """The server could not be reached or refused a request; the message says which."""


class DeliveryError(WatchkeeperError):
    """A notification could not be delivered; the message says why."""


class UsageError(WatchkeeperError):
    """The API or the CLI was used in a way that cannot work; the message says how to fix it."""


class InvalidAction(UsageError):
    """An action does not match the documented action JSON form.

    ``field`` is the dotted path of the offending field (``input``, ``intent.kind``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidJSON(UsageError):
    """A JSON document refused by :mod:`watchkeeper.strict_json`: not JSON, or ambiguous
    (a duplicated key, a lone surrogate, a number that is not finite), or unbounded (too deep,
    too large). ``code`` is ``invalid_json``, ``invalid_request`` (JSON, but not an object) or
    ``too_large``, as the API answers it."""

    def __init__(self, message: str, code: str = "invalid_json") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a standing orders file, located at ``file:line:col`` (1-based)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class OrdersError(WatchkeeperError):
    """Standing orders were refused. ``issues`` holds every problem found, in file order."""

    def __init__(self, issues: Sequence[Issue], what: str = "standing orders") -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.col, i.message))
        count = len(self.issues)
        header = f"{what} refused: {count} error{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *(str(i) for i in self.issues)]))


class AnalyzerError(WatchkeeperError):
    """An analyzer failed; the gateway turns this into ``deny`` with this message as the reason."""


class ActionBlocked(WatchkeeperError):
    """A guarded call did not run; ``decision`` holds the decision, reasons and instructions,
    ``message`` one sentence to hand the model (see :mod:`watchkeeper.answer`), and for an
    approval that ended without approving, ``answer`` what the server said about it (the
    approval's id, the approvers' comments, instructions and constraints)."""

    def __init__(
        self, decision: Decision, message: str | None = None, answer: dict[str, Any] | None = None
    ) -> None:
        from watchkeeper.answer import sentence

        self.decision = decision
        self.reasons = list(decision.reasons)
        self.instructions = list(decision.instructions)
        self.answer = answer or {}
        self.approval_id: str | None = self.answer.get("approval_id")
        self.message = message or sentence(decision.to_json())
        super().__init__(self.message)


class ActionDenied(ActionBlocked):
    """The standing orders deny this action."""


class ApprovalRequired(ActionBlocked):
    """The standing orders require a human approval before this action may run."""


class ApprovalPending(ApprovalRequired):
    """The approval was not decided while the guard waited. Nothing ran. Call again with the
    same arguments to resume waiting on the same approval (``approval_id``)."""

    def __init__(self, decision: Decision, approval_id: str) -> None:
        super().__init__(decision)
        self.approval_id = approval_id
        self.args = (f"approval {approval_id} is still pending: {decision.summary()}",)

    def __str__(self) -> str:
        return str(self.args[0])


def message_of(exc: BaseException) -> str:
    """The exception's message, even when its ``__str__`` itself fails."""
    try:
        return str(exc)
    except Exception:
        return "(its message could not be read)"


def describe(exc: BaseException) -> str:
    """``Type: message`` for any exception."""
    text = message_of(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

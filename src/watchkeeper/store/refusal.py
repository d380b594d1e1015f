"""What the store refuses to do, and the HTTP answer each refusal maps to.

    raise Refused(409, "decided", "the approval is already denied")

Approvals, pauses and outcomes raise subclasses; the server answers every one in its one error
shape, so no endpoint translates them by hand.
"""

from __future__ import annotations


class Refused(Exception):
    """A request the store will not carry out; ``status`` is the HTTP answer it maps to."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

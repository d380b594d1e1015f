"""Who may answer, and what the votes decide: the pure rules, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper.quorum import due, escalated, outcome, replay
from watchkeeper.store.identities import User

GROUPS = {"sre": {"alice@x.io", "bob@x.io"}, "dba": {"dana@x.io"}, "leads": {"lee@x.io"}}
PEOPLE = {
    email: User(email, role, ())
    for email, role in [("alice@x.io", "approver"), ("bob@x.io", "approver"),
                        ("dana@x.io", "approver"), ("lee@x.io", "admin"),
                        ("audrey@x.io", "auditor"), ("sam@x.io", "approver")]
}  # fmt: skip
SRE_2 = {"rule": "r1", "group": "sre", "quorum": 2}
DBA_1 = {"rule": "r2", "group": "dba", "quorum": 1}
ANY_1 = {"rule": "r3", "quorum": 1}
NAMED = {"rule": "r4", "users": ["Sam@x.io"], "quorum": 1}
LADDER = {"rule": "r5", "group": "dba", "quorum": 1,
          "escalate": [{"after_seconds": 600, "to": "leads"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("required", "votes", "state"),
    [
        ([SRE_2], [("alice@x.io", "approve")], "pending"),
        ([SRE_2], [("alice@x.io", "approve"), ("bob@x.io", "approve")], "approved"),
        ([SRE_2], [("alice@x.io", "approve"), ("sam@x.io", "approve")], "pending"),
        # Two requirements naming different groups: each needs its own people.
        ([SRE_2, DBA_1], [("alice@x.io", "approve"), ("bob@x.io", "approve")], "pending"),
        ([SRE_2, DBA_1], [("alice@x.io", "approve"), ("dana@x.io", "approve")], "pending"),
        (
            [SRE_2, DBA_1],
            [("alice@x.io", "approve"), ("bob@x.io", "approve"), ("dana@x.io", "approve")],
            "approved",
        ),
        (
            [SRE_2, DBA_1],
            [("dana@x.io", "approve"), ("sam@x.io", "approve"), ("lee@x.io", "approve")],
            "pending",
        ),
        # One eligible deny denies; a deny from someone no requirement names does not.
        ([SRE_2], [("alice@x.io", "approve"), ("bob@x.io", "deny")], "denied"),
        (
            [SRE_2],
            [("dana@x.io", "deny"), ("alice@x.io", "approve"), ("bob@x.io", "approve")],
            "approved",
        ),
        ([SRE_2, DBA_1], [("dana@x.io", "deny")], "denied"),
        # Anyone who approves, when no one is named; never an auditor.
        ([ANY_1], [("audrey@x.io", "approve")], "pending"),
        ([ANY_1], [("sam@x.io", "approve")], "approved"),
        ([NAMED], [("sam@x.io", "approve")], "approved"),
        ([NAMED], [("alice@x.io", "approve")], "pending"),
        # Votes of people unknown (or disabled since) do not count.
        ([ANY_1], [("ghost@x.io", "approve")], "pending"),
        ([LADDER], [("lee@x.io", "approve")], "pending"),
    ],
)
def test_what_the_votes_decide(
    required: list[dict[str, Any]], votes: list[tuple[str, str]], state: str
) -> None:
    assert outcome(required, votes, PEOPLE, GROUPS) == state


def test_an_escalation_step_lets_its_group_answer() -> None:
    reached = escalated([LADDER], 1)
    assert reached[0]["escalated_to"] == ["leads"]
    assert outcome(reached, [("lee@x.io", "approve")], PEOPLE, GROUPS) == "approved"
    assert escalated([LADDER], 0) == [LADDER]


def test_break_glass_approves_alone() -> None:
    assert outcome([SRE_2], [("lee@x.io", "approve")], PEOPLE, GROUPS, glass=True) == "approved"


def requested(*required: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "approval_requested", "approval": "a1", "agent": "bot", "digest": "d",
            "required": list(required)}  # fmt: skip


def voted(email: str, vote: str = "approve", **extra: Any) -> dict[str, Any]:
    return {"kind": "vote", "approval": "a1", "email": email, "vote": vote, **extra}


@pytest.mark.parametrize(
    ("events", "state", "consumed"),
    [
        ([], "missing", False),
        ([requested(SRE_2)], "pending", False),
        ([requested(SRE_2), voted("alice@x.io"), voted("bob@x.io")], "approved", False),
        # A vote event that claims more than its votes give is judged again, not believed.
        ([requested(SRE_2), voted("alice@x.io", state="approved")], "pending", False),
        # One person's second vote does not count twice.
        ([requested(SRE_2), voted("alice@x.io"), voted("alice@x.io")], "pending", False),
        ([requested(SRE_2), voted("alice@x.io", "deny"), voted("bob@x.io")], "denied", False),
        ([requested(SRE_2), voted("lee@x.io", break_glass=True)], "approved", False),
        ([requested(SRE_2), voted("sam@x.io", break_glass=True)], "pending", False),
        ([requested(SRE_2), {"kind": "approval_expired", "approval": "a1"}], "expired", False),
        (
            [
                requested(LADDER),
                {"kind": "approval_escalated", "approval": "a1", "level": 1},
                voted("lee@x.io"),
            ],
            "approved",
            False,
        ),
        (
            [requested(ANY_1), voted("sam@x.io"), {"kind": "grant_consumed", "approval": "a1"}],
            "approved",
            True,
        ),
        (
            [requested(ANY_1), {"kind": "pause", "cancelled": ["a1"]}, voted("sam@x.io")],
            "cancelled",
            False,
        ),
    ],
)
def test_replaying_the_log_judges_the_votes_again(
    events: list[dict[str, Any]], state: str, consumed: bool
) -> None:
    seen = replay(events, PEOPLE, GROUPS)
    assert (seen["state"], seen["consumed"]) == (state, consumed)


@pytest.mark.parametrize(
    ("state", "required", "opened", "level", "deadline", "now", "expected"),
    [
        ("pending", [SRE_2], 0.0, 0, 3600.0, 100.0, False),  # nothing yet
        ("pending", [SRE_2], 0.0, 0, 3600.0, 3600.0, True),  # the deadline, to the second
        ("approved", [SRE_2], 0.0, 0, 900.0, 901.0, True),  # an unused grant runs out
        ("approved", [SRE_2], 0.0, 0, 900.0, 10.0, False),
        ("pending", [LADDER], 0.0, 0, 3600.0, 599.0, False),  # the step is at 600 s
        ("pending", [LADDER], 0.0, 0, 3600.0, 600.0, True),
        ("pending", [LADDER], 0.0, 1, 3600.0, 700.0, False),  # that step was taken
        ("approved", [LADDER], 0.0, 0, 9999.0, 700.0, False),  # only pending ones escalate
        ("pending", [LADDER], None, 0, None, 700.0, False),  # no opening time: no steps
        ("denied", [SRE_2], 0.0, 0, None, 10**9, False),
    ],
)
def test_what_is_due(
    state: str,
    required: list[dict[str, Any]],
    opened: float | None,
    level: int,
    deadline: float | None,
    now: float,
    expected: bool,
) -> None:
    assert due(state, required, opened, level, deadline, now) is expected

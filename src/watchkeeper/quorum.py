"""Who may answer an approval, and what the votes cast decide: pure functions, no database.

    people = {"alice@example.com": User("alice@example.com", "approver", ())}
    groups = {"sre": {"alice@example.com", "bob@example.com"}}
    required = [{"rule": "r", "group": "sre", "quorum": 2}]
    outcome(required, [("alice@example.com", "approve")], people, groups)   # 'pending'

The store judges votes with these as they are cast, and judges again from the audit log's own
events before it releases a grant (:func:`replay`): a row changed behind its back does not
release anything the log does not show approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from watchkeeper.store.identities import User

Requirement = Mapping[str, Any]
Groups = Mapping[str, set[str]]


def eligible(user: User, requirement: Requirement, groups: Groups) -> bool:
    """Whether ``user`` may answer for ``requirement``: an approver or admin it names (by
    address, by group, or by a group its escalation has reached); anyone of those roles when it
    names no one."""
    if user.role not in ("approver", "admin"):
        return False
    named = {u.lower() for u in requirement.get("users") or []}
    group = requirement.get("group")
    if not named and not group:
        return True  # any approver
    # Escalation widens who may answer: the groups the ladder has reached count too.
    reached = [g for g in (group, *(requirement.get("escalated_to") or ())) if g]
    # Groups are the standing orders' (membership.py): what an account stores grants nothing.
    in_group = any(user.email in groups.get(g, set()) for g in reached)
    return user.email in named or in_group


def outcome(
    required: Sequence[Requirement],
    votes: Iterable[tuple[str, str]],
    people: Mapping[str, User],
    groups: Groups,
    glass: bool = False,
) -> str:
    """``approved``, ``denied`` or ``pending``: one eligible deny denies; every requirement
    needs its quorum of distinct eligible approvers. Votes of people not in ``people`` (unknown,
    or disabled since) do not count. ``glass``: an admin broke the glass, alone."""
    if glass:
        return "approved"
    cast = list(votes)
    for email, vote in cast:
        person = people.get(email)
        if (
            vote == "deny"
            and person is not None
            and any(eligible(person, r, groups) for r in required)
        ):
            return "denied"
    for requirement in required:
        if len(_approving(requirement, cast, people, groups)) < int(requirement.get("quorum") or 1):
            return "pending"
    return "approved"


def _approving(
    requirement: Requirement, cast: Sequence[tuple[str, str]], people: Mapping[str, User],
    groups: Groups,
) -> set[str]:  # fmt: skip
    """The distinct people who approved and may answer for ``requirement``."""
    return {
        email for email, vote in cast
        if vote == "approve" and (p := people.get(email)) is not None
        and eligible(p, requirement, groups)
    }  # fmt: skip


def progress(
    required: Sequence[Requirement],
    votes: Iterable[tuple[str, str]],
    people: Mapping[str, User],
    groups: Groups,
) -> list[dict[str, Any]]:
    """For each requirement, how many of the approvals it needs are in: ``{"rule", "needs",
    "have"}`` (counting, as :func:`outcome` does, distinct eligible people who approved)."""
    cast = list(votes)
    return [
        {"rule": r.get("rule"), "needs": int(r.get("quorum") or 1),
         "have": len(_approving(r, cast, people, groups))}
        for r in required
    ]  # fmt: skip


def ladder(required: Sequence[Requirement]) -> list[tuple[int, int, str]]:
    """Every escalation step of an approval's requirements, in the order they fall due:
    ``(after_seconds, requirement index, group)``."""
    steps = [
        (int(step["after_seconds"]), r, str(step["to"]))
        for r, requirement in enumerate(required)
        for step in requirement.get("escalate") or ()
    ]
    return sorted(steps)


def escalated(required: Sequence[Requirement], level: int) -> list[dict[str, Any]]:
    """``required`` with the groups the first ``level`` escalation steps added to each."""
    out = [{k: v for k, v in r.items() if k != "escalated_to"} for r in required]
    for _after, r, group in ladder(required)[:level]:
        reached = out[r].setdefault("escalated_to", [])
        if group not in reached:
            reached.append(group)
    return out


def replay(
    events: Sequence[Mapping[str, Any]], people: Mapping[str, User], groups: Groups
) -> dict[str, Any]:
    """What the audit log's ``events`` about one approval (oldest first) say of it now:
    ``state`` (``missing`` without its request), ``agent``, ``digest``, ``consumed``. The
    votes are judged again under ``groups``, each in the role it was cast in; ``people`` are
    the accounts still active (a disabled person's vote does not count)."""
    seen: dict[str, Any] = {"state": "missing", "agent": None, "digest": None, "consumed": False}
    required: list[dict[str, Any]] = []
    level = 0
    cast: dict[str, str] = {}
    voters: dict[str, User] = {}
    glass = False
    for event in events:
        kind = event.get("kind")
        if kind == "approval_requested":
            required = list(event.get("required") or [])
            seen.update(state="pending", agent=event.get("agent"), digest=event.get("digest"))
        elif kind == "approval_escalated":
            level = max(level, int(event.get("level") or 0))
        elif kind == "vote" and seen["state"] == "pending":
            email, vote = str(event.get("email")), str(event.get("vote"))
            if email in cast:
                continue  # a person votes once: the first counts
            cast[email] = vote
            # The role the vote was cast in (sealed with it), if the account is still active:
            # a role raised in the database since does not count.
            if email in people:
                role = str(event.get("role") or people[email].role)
                voters[email] = User(email, role, ())
            glass = glass or (event.get("break_glass") is True and vote == "approve"
                              and email in voters and voters[email].role == "admin")  # fmt: skip
            seen["state"] = outcome(escalated(required, level), cast.items(), voters, groups,
                                    glass)  # fmt: skip
        elif kind in ("approval_expired", "grant_expired"):
            seen["state"] = "expired"
        elif kind == "pause" and seen["state"] in ("pending", "approved") and not seen["consumed"]:
            seen["state"] = "cancelled"
        elif kind == "grant_consumed":
            seen["consumed"] = True
    return seen


def steps_due(
    steps: list[tuple[int, int, str]], opened: float | None, level: int, now: float
) -> list[tuple[int, int, str]]:
    """The escalation steps (of :func:`ladder`) not taken yet, from ``level`` on, whose time
    has come at ``now`` for an approval opened at ``opened`` (seconds, the database's clock)."""
    return [step for step in steps[level:] if opened is not None and opened + step[0] <= now]


def due(
    state: str,
    required: Sequence[Requirement],
    opened: float | None,
    level: int,
    deadline: float | None,
    now: float,
) -> bool:
    """Whether an approval has something to happen at ``now``: its deadline passed (pending,
    or an unused grant), or, while pending, an escalation step's time came."""
    if deadline is not None and deadline <= now:
        return True
    return state == "pending" and bool(steps_due(ladder(required), opened, level, now))

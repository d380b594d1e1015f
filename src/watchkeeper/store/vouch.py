"""What the log vouches for: the state tables read again against the audit log's events.

    disagreements = cross_check(store)   # [] when every row is what the events made it

The audit log is tamper-evident; the tables beside it (approvals, votes, grants, pauses, agents,
people, tokens) are not. Someone with the database could set an approval to ``approved``, add a
vote, lift a pause, give themselves the admin role or a token, and nothing in the tree would
change. ``audit verify`` therefore replays the events that made each row and reports every row
that disagrees with them, and every event whose row is gone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from watchkeeper.store.audit import subjects
from watchkeeper.store.database import Store
from watchkeeper.store.schema import (
    agents,
    approvals,
    audit_leaves,
    audit_refs,
    pauses,
    user_tokens,
    users,
    votes,
)

#: Events that change state rows (actions and decisions, the bulk of the log, do not).
KINDS = (
    "approval_requested", "approval_joined", "approval_escalated", "vote", "approval_expired",
    "grant_expired", "grant_consumed",
    "pause", "resume", "agent_added", "agent_revoked", "user_added", "user_disabled",
    "user_enabled", "token_issued", "token_revoked",
)  # fmt: skip
#: At most this many disagreements are listed; the count says how many more there were.
SHOWN = 50


@dataclass
class Expected:
    """The state the events describe, row by row."""

    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    votes: dict[tuple[str, str], str] = field(default_factory=dict)
    pauses: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # by hash, when logged
    unhashed_tokens: Counter[str] = field(default_factory=Counter)  # by email, older events
    #: Which events are about which approval (audit_refs, as the events themselves say).
    refs: set[tuple[str, int]] = field(default_factory=set)
    #: What the events alone show is wrong (a grant released twice).
    problems: list[str] = field(default_factory=list)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "approval_requested":
            self.approvals[event["approval"]] = {
                "state": "pending", "agent": event.get("agent"), "digest": event.get("digest"),
                "action_index": event.get("action_index"), "consumed": False,
            }  # fmt: skip
        elif kind == "vote":
            self.votes[event["approval"], event["email"]] = event["vote"]
            if event["approval"] in self.approvals and event.get("state"):
                self.approvals[event["approval"]]["state"] = event["state"]
        elif kind in ("approval_expired", "grant_expired"):
            self._approval(event)["state"] = "expired"
        elif kind == "grant_consumed":
            if self._approval(event).get("consumed"):
                self.problems.append(f"approval {event['approval']}: its grant was released "
                                     "twice (two grant_consumed events)")  # fmt: skip
            self._approval(event)["consumed"] = True
        elif kind == "pause":
            self.pauses[event["pause"]] = {
                "scope": event.get("scope"), "target": event.get("target"), "resumed": False
            }  # fmt: skip
            for approval_id in event.get("cancelled") or ():
                self._approval({"approval": approval_id})["state"] = "cancelled"
        elif kind == "resume":
            self.pauses.setdefault(event["pause"], {})["resumed"] = True
        elif kind == "agent_added":
            self.agents[event["agent"]] = {"revoked": False, "key": event.get("key_sha256")}
        elif kind == "agent_revoked":
            self.agents.setdefault(event["agent"], {})["revoked"] = True
        elif kind == "user_added":
            self.users[event["email"]] = {"role": event.get("role"), "disabled": False}
        elif kind in ("user_disabled", "user_enabled"):
            self.users.setdefault(event["email"], {})["disabled"] = kind == "user_disabled"
        elif kind == "token_issued":
            digest = event.get("token_sha256")
            if digest is None:
                self.unhashed_tokens[event["email"]] += 1
            else:
                self.tokens[digest] = {"email": event["email"], "revoked": False,
                                       "expires_at": event.get("expires_at")}  # fmt: skip
        elif kind == "token_revoked":
            for digest in event.get("tokens") or ():
                self.tokens.setdefault(digest, {"email": event.get("email")})["revoked"] = True

    def _approval(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.approvals.setdefault(event["approval"], {"state": None})


def expected(conn: Connection) -> Expected:
    """The state the log's events describe, replayed in order."""
    state = Expected()
    rows = conn.execute(
        select(audit_leaves.c.idx, audit_leaves.c.event)
        .where(audit_leaves.c.kind.in_(KINDS))
        .order_by(audit_leaves.c.idx)
        .execution_options(yield_per=5000)
    )
    for idx, text in rows:
        try:
            event = json.loads(text)
            state.apply(event)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"audit event {idx} cannot be read as its kind: {exc}") from None
        state.refs.update((subject, int(idx)) for subject in subjects(event))
    return state


def cross_check(store: Store) -> list[str]:
    """Every disagreement between the state tables and the log's events (at most
    :data:`SHOWN`, then a count of the rest); ``[]`` when all agree."""
    with store.reading() as conn:
        try:
            want = expected(conn)
        except ValueError as exc:
            return [str(exc)]
        found = list(_compare(conn, want))
    if len(found) > SHOWN:
        return [*found[:SHOWN], f"… and {len(found) - SHOWN} more"]
    return found


def _compare(conn: Connection, want: Expected) -> Iterator[str]:
    yield from want.problems
    yield from _refs(conn, want)
    yield from _approvals(conn, want)
    yield from _pauses(conn, want)
    yield from _identities(conn, want)


def _approvals(conn: Connection, want: Expected) -> Iterator[str]:
    rows = conn.execute(
        select(approvals.c.id, approvals.c.state, approvals.c.agent, approvals.c.digest,
               approvals.c.action_index, approvals.c.consumed_at.is_not(None))
    ).all()  # fmt: skip
    seen = set()
    for approval_id, state, agent, digest, action_index, consumed in rows:
        seen.add(approval_id)
        logged = want.approvals.get(approval_id)
        if logged is None or logged.get("agent") is None:
            yield f"approval {approval_id}: a row with no approval_requested event in the log"
            continue
        if state != logged["state"]:
            yield f"approval {approval_id}: its row says {state}, the log says {logged['state']}"
        if bool(consumed) != logged["consumed"]:
            said = "released" if logged["consumed"] else "not released"
            yield (
                f"approval {approval_id}: its row says the grant was {'' if consumed else 'not '}"
                f"released, the log says {said}"
            )
        if (agent, digest, int(action_index)) != (
            logged["agent"], logged["digest"], logged["action_index"],
        ):  # fmt: skip
            yield f"approval {approval_id}: its agent, digest or action differ from its request"
    for approval_id, logged in want.approvals.items():
        if approval_id not in seen and logged.get("agent") is not None:
            yield f"approval {approval_id}: in the log, but its row is gone"
    cast = {(r[0], r[1]): r[2] for r in conn.execute(
        select(votes.c.approval_id, votes.c.email, votes.c.vote))}  # fmt: skip
    for key in sorted(cast.keys() | want.votes.keys()):
        if cast.get(key) != want.votes.get(key):
            row_says, log_says = cast.get(key) or "no vote", want.votes.get(key) or "no vote"
            yield (f"vote of {key[1]} on approval {key[0]}: its row says {row_says}, the log "
                   f"says {log_says}")  # fmt: skip


def _same_time(row: float | None, logged: float | None) -> bool:
    if row is None or logged is None:
        return row is logged
    return abs(float(row) - float(logged)) < 0.001


def _refs(conn: Connection, want: Expected) -> Iterator[str]:
    """The index of which events concern which approval, against the events themselves: an
    entry removed would hide a release, an expiry or a pause from the next release's check.
    (The index's other subjects, an agent's or a rule's history for the handoff packet, change
    no state; each event found through them is checked against its hash when it is read.)"""
    query = select(audit_refs.c.subject, audit_refs.c.idx).where(
        audit_refs.c.subject.startswith("approval:")
    )
    stored = {(str(r[0]), int(r[1])) for r in conn.execute(query)}
    for subject, idx in sorted(want.refs - stored):
        yield f"audit_refs lacks event {idx} about {subject}: it was removed"
    for subject, idx in sorted(stored - want.refs):
        yield f"audit_refs says event {idx} is about {subject}, and it is not"


def _released(released: bool) -> str:
    return "the grant was released" if released else "the grant was not released"


def _pauses(conn: Connection, want: Expected) -> Iterator[str]:
    query = select(pauses.c.id, pauses.c.scope, pauses.c.target, pauses.c.resumed_at.is_not(None))
    rows = {r[0]: r[1:] for r in conn.execute(query)}
    for pause_id in sorted(rows.keys() | want.pauses.keys()):
        row, logged = rows.get(pause_id), want.pauses.get(pause_id)
        if row is None:
            yield f"pause {pause_id}: in the log, but its row is gone (the pause is lifted)"
        elif logged is None or "scope" not in logged:
            yield f"pause {pause_id}: a row with no pause event in the log"
        elif (row[0], row[1]) != (logged["scope"], logged["target"]):
            yield f"pause {pause_id}: its scope or target differ from its pause event"
        elif bool(row[2]) != logged["resumed"]:
            yield (f"pause {pause_id}: its row says {'resumed' if row[2] else 'in force'}, the "
                   f"log says {'resumed' if logged['resumed'] else 'in force'}")  # fmt: skip


def _identities(conn: Connection, want: Expected) -> Iterator[str]:
    rows = {r[0]: r[1:] for r in conn.execute(
        select(agents.c.name, agents.c.key_hash, agents.c.revoked_at.is_not(None)))}  # fmt: skip
    for name in sorted(rows.keys() | want.agents.keys()):
        row, logged = rows.get(name), want.agents.get(name)
        if row is None:
            yield f"agent {name}: in the log, but its row is gone"
        elif logged is None or "key" not in logged:
            yield f"agent {name}: a row with no agent_added event in the log"
        elif logged["key"] is not None and bytes(row[0]).hex() != logged["key"]:
            yield f"agent {name}: its key is not the one the log recorded: it was replaced"
        elif bool(row[1]) != logged["revoked"]:
            yield (f"agent {name}: its row says {'revoked' if row[1] else 'active'}, the log "
                   f"says {'revoked' if logged['revoked'] else 'active'}")  # fmt: skip
    people = {r[0]: r[1:] for r in conn.execute(
        select(users.c.email, users.c.role, users.c.disabled_at.is_not(None)))}  # fmt: skip
    for email in sorted(people.keys() | want.users.keys()):
        person, logged = people.get(email), want.users.get(email)
        if person is None:
            yield f"user {email}: in the log, but its row is gone"
        elif logged is None or "role" not in logged:
            yield f"user {email}: a row with no user_added event in the log"
        elif person[0] != logged["role"]:
            yield f"user {email}: its row gives the role {person[0]}, the log {logged['role']}"
        elif bool(person[1]) != logged["disabled"]:
            yield (f"user {email}: its row says {'disabled' if person[1] else 'enabled'}, the "
                   f"log says {'disabled' if logged['disabled'] else 'enabled'}")  # fmt: skip
    unhashed = Counter(want.unhashed_tokens)
    tokens = select(user_tokens.c.token_hash, user_tokens.c.email,
                    user_tokens.c.revoked_at.is_not(None), user_tokens.c.expires_at)  # fmt: skip
    for digest, email, revoked, expires in conn.execute(tokens):
        logged = want.tokens.get(bytes(digest).hex())
        if logged is None:
            if unhashed[email] > 0:  # issued before tokens were logged by hash: count them
                unhashed[email] -= 1
                continue
            yield f"a token of {email} that no token_issued event in the log accounts for"
        elif logged.get("email") != email:
            yield f"a token recorded for {logged.get('email')} now belongs to {email}"
        elif not _same_time(expires, logged.get("expires_at")):
            yield f"a token of {email}: its expiry is not the one the log recorded"
        elif bool(revoked) != bool(logged.get("revoked")):
            yield (f"a token of {email}: its row says {'revoked' if revoked else 'valid'}, the "
                   f"log says {'revoked' if logged.get('revoked') else 'valid'}")  # fmt: skip

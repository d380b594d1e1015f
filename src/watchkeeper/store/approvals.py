"""Approvals: who must agree before an ``ask`` runs, their votes, and the grant used once.

    approvals = Approvals(store, orders.groups)
    approval_id = approvals.create_in(conn, action_index, "infra-bot", digest, decision.approvals)
    approvals.vote(approval_id, alice, "approve", "snapshot taken: snap-123")
    grant = approvals.consume(approval_id, "infra-bot", digest)   # once; then Conflict

The invariants (SPEC §7) hold in the database, not in memory:

- only people vote (an agent's key is not a person's token); a person votes once (the votes
  table's key); only those a requirement names count toward it;
- every requirement's quorum of distinct eligible people must approve; one eligible ``deny``
  denies;
- the grant is bound to the action's digest and released by one compare-and-set on the row,
  stamped with the database's clock: at most one release per approval, whatever races;
- every change and its audit event commit in one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from watchkeeper.canonical import canonical_json
from watchkeeper.decision import ApprovalRequirement
from watchkeeper.errors import ApprovalError
from watchkeeper.quorum import due, eligible, ladder, outcome, progress, replay, steps_due
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer
from watchkeeper.store.database import Store
from watchkeeper.store.identities import User
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.pauses import Pauses, describe
from watchkeeper.store.schema import approvals, votes
from watchkeeper.store.tightenings import Tightenings
from watchkeeper.store.waiting import Waiter
from watchkeeper.terminal import says_something

VOTES = ("approve", "deny")
#: Events that can make a release possible: counted only when sealed (see ``sealer``).
SEALED = frozenset({"approval_requested", "vote", "approval_escalated"})
#: How long an approved, unused grant stays usable.
GRANT_SECONDS = 900


def _as_written(requirements: str) -> list[dict[str, Any]]:
    """Stored requirements without what escalation added to them."""
    return [{k: v for k, v in r.items() if k != "escalated_to"} for r in json.loads(requirements)]


@dataclass(frozen=True)
class Grant:
    """Permission to run one approved action, once."""

    approval_id: str
    digest: str
    agent: str
    action_index: int  # the action the approval was opened for: outcomes are reported on it


class Approvals:
    """The approvals of one store, judged with the standing orders' groups."""

    def __init__(
        self,
        store: Store,
        groups: Mapping[str, Sequence[str]],
        waiter: Waiter | None = None,
        outbox: Outbox | None = None,
        loud: Sequence[str] = (),
        pauses: Pauses | None = None,
        sealer: Signer | None = None,
    ) -> None:
        self.store = store
        self.groups = {g: {m.lower() for m in members} for g, members in groups.items()}
        self.log = AuditLog(store)
        self.waiter = waiter
        self.outbox = outbox
        #: Channels told of every break-glass approval, whatever the rules name.
        self.loud = tuple(loud)
        #: Checked again when a grant is released: a pause holds whatever was approved.
        self.pauses = pauses
        #: Seals the events a release is judged by (the request, votes, escalations) with the
        #: key outside the database; only sealed ones count then. Without it, nothing is.
        self.sealer = sealer
        #: Tightenings over approvers: what a tightened approver approves needs a second one.
        self.tightenings: Tightenings | None = None
        #: The watch rules, run on each vote and escalation in its transaction as
        #: ``watch(conn, kind, facts)``; ``raised`` is told their alerts once it commits (the
        #: service sets both when watch rules see votes or escalations).
        self.watch: Callable[[Connection, str, dict[str, Any]], list[Any]] | None = None
        self.raised: Callable[[list[Any]], None] | None = None

    def _notify(
        self,
        conn: Connection,
        required: Sequence[Mapping[str, Any]],
        kind: str,
        payload: Mapping[str, Any],
        loud: bool = False,
    ) -> None:
        """Queue notifications with the change, in its transaction (the outbox)."""
        if self.outbox is None:
            return
        channels = [c for r in required for c in r.get("notify") or ()]
        self.outbox.enqueue_in(conn, [*channels, *(self.loud if loud else ())], kind, payload)

    def _announce(self, conn: Connection, approval_id: str) -> None:
        if self.waiter is not None:
            self.waiter.announce(conn, approval_id)

    def _changed(self, *approval_ids: str) -> None:
        if self.waiter is not None and approval_ids:
            self.waiter.changed(*approval_ids)

    async def waited(
        self,
        approval_id: str,
        seconds: float,
        offload: Callable[[Callable[[], dict[str, Any] | None]], Awaitable[dict[str, Any] | None]],
    ) -> dict[str, Any] | None:
        """The approval once it is no longer pending, or as it is after ``seconds``, for an
        event loop: no thread is held while nothing changes. Each read
        runs through ``offload`` (a thread pool); reads in between only look (the scheduler
        advances what is due, and wakes the waiters of what it changed), the last one also
        advances the approval if its time has come."""
        if self.waiter is None or seconds <= 0:
            return await offload(lambda: self.get(approval_id))

        def pending(view: dict[str, Any] | None) -> bool:
            return view is not None and view["state"] == "pending"

        view = await self.waiter.until(
            approval_id, lambda: offload(lambda: self.peek(approval_id)),
            lambda v: not pending(v), seconds,
        )  # fmt: skip
        return await offload(lambda: self.get(approval_id)) if pending(view) else view

    def peek(self, approval_id: str) -> dict[str, Any] | None:
        """The approval as stored, without advancing it (a read, not a write)."""
        with self.store.reading() as conn:
            return self._view(conn, approval_id)

    def create_in(
        self,
        conn: Connection,
        action_index: int,
        agent: str,
        digest: str,
        requirements: Sequence[ApprovalRequirement],
        session: str | None = None,
        summary: str = "",
    ) -> str:
        """A pending approval, in the caller's transaction (the one recording the decision).

        The same action asked again (same agent, same digest) while its approval is still open,
        pending or approved and unused, joins that approval instead of opening another: an
        agent that stopped waiting resumes by asking again, and the votes already cast count.
        """
        required = [r.to_json() for r in requirements]
        candidates = conn.execute(
            select(approvals.c.id, approvals.c.requirements)
            .where(
                approvals.c.agent == agent,
                approvals.c.digest == digest,
                # The same session: a session pause must cover every approval it uses.
                approvals.c.session.is_(None) if session is None
                else approvals.c.session == session,
                approvals.c.state.in_(("pending", "approved")),
                approvals.c.consumed_at.is_(None),
                approvals.c.expires_at > self.store.now(conn),
            )
            .order_by(approvals.c.created_at.desc())
        ).all()  # fmt: skip
        # The same requirements too (as the rules wrote them, before any escalation): orders
        # that changed since mean a new approval under the new ones.
        joined = next((c[0] for c in candidates if _as_written(c[1]) == required), None)
        if joined is not None:
            self.log.append_in(
                conn,
                [{"kind": "approval_joined", "approval": joined, "agent": agent,
                  "action_index": action_index, "digest": digest, "session": session}],
            )  # fmt: skip
            return str(joined)
        approval_id = uuid.uuid4().hex
        timeout = min((r.timeout_seconds for r in requirements), default=3600)
        conn.execute(
            insert(approvals).values(
                id=approval_id,
                action_index=action_index,
                agent=agent,
                digest=digest,
                state="pending",
                requirements=json.dumps(required),
                expires_at=self.store.now(conn) + timeout,
                opened_at=self.store.now(conn),
                session=session,
            )
        )
        self.log.append_in(
            conn,
            [self._seal({"kind": "approval_requested", "approval": approval_id, "agent": agent,
                         "digest": digest, "action_index": action_index, "required": required})],
        )  # fmt: skip
        self._notify(conn, required, "approval_requested",
                     {"approval": approval_id, "agent": agent, "digest": digest,
                      "action_index": action_index, "summary": summary})  # fmt: skip
        return approval_id

    def get(self, approval_id: str, opened_by: str | None = None) -> dict[str, Any] | None:
        """The approval as the API shows it, or ``None`` (advanced first if its time has come:
        escalated, extended or expired). ``opened_by``: the person looking at it; the first
        to open it is recorded (an escalation nobody opened is what watch rules look for)."""
        alerts: list[Any] = []
        with self.store.writing() as conn:
            changed = self._advance(conn, approval_id, alerts)
            if opened_by:
                self._opened(conn, approval_id, opened_by)
            view = self._view(conn, approval_id)
        if changed:
            self._changed(approval_id)
        self._tell(alerts)
        return view

    def _opened(self, conn: Connection, approval_id: str, person: str) -> None:
        """Record the first person to open a pending approval, with its audit event."""
        first = conn.execute(
            update(approvals)
            .where(approvals.c.id == approval_id, approvals.c.viewed_at.is_(None),
                   approvals.c.state == "pending")
            .values(viewed_at=self.store.now(conn), viewed_by=person)
        ).rowcount  # fmt: skip
        if first:
            self.log.append_in(
                conn, [{"kind": "approval_opened", "approval": approval_id, "by": person}]
            )

    def recent(
        self, state: str | None = "pending", limit: int = 100, prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Approvals, newest first: those in ``state`` (all with ``None``) whose id starts with
        ``prefix``. Pending ones are advanced first, so the list never offers what can no
        longer be voted on."""
        self.tick()
        with self.store.reading() as conn:
            query = select(approvals.c.id).order_by(approvals.c.created_at.desc(), approvals.c.id)
            if state is not None:
                query = query.where(approvals.c.state == state)
            if prefix:  # ids are lower-case hex: a prefix of anything else matches nothing
                query = query.where(approvals.c.id.startswith(prefix.lower(), autoescape=True))
            ids = conn.execute(query.limit(max(1, min(limit, 1000)))).scalars().all()
            return [v for a in ids if (v := self._view(conn, a)) is not None]

    def tick(self) -> int:
        """Advance every pending approval whose time has come; how many changed. The
        scheduler in ``serve`` calls this every second; each change is a compare-and-set, so
        replicas doing the same never double an escalation or an expiry."""
        # One read finds what is due; only those get a write transaction (which takes the
        # log's lock). Waiting approvals cost no writes, however many there are.
        with self.store.reading() as conn:
            now = self.store.now(conn)
            rows = conn.execute(
                select(approvals.c.id, approvals.c.state, approvals.c.requirements,
                       approvals.c.opened_at, approvals.c.level, approvals.c.expires_at)
                .where(
                    (approvals.c.state == "pending")
                    | ((approvals.c.state == "approved") & approvals.c.consumed_at.is_(None))
                )
            ).all()  # fmt: skip
        changed = []
        for approval_id, state, required, opened, level, deadline in rows:
            if not due(state, json.loads(required), opened, int(level), deadline, now):
                continue  # _advance decides again, on the clock of its own transaction
            alerts: list[Any] = []
            with self.store.writing() as conn:
                if self._advance(conn, approval_id, alerts):
                    changed.append(approval_id)
            self._tell(alerts)
        self._changed(*changed)
        return len(changed)

    def _expire_now(self, approval_id: str) -> None:
        """Advance in a transaction of its own: what follows may fail and roll back, the expiry
        or escalation stays."""
        alerts: list[Any] = []
        with self.store.writing() as conn:
            changed = self._advance(conn, approval_id, alerts)
        if changed:
            self._changed(approval_id)
        self._tell(alerts)

    def _tell(self, alerts: list[Any]) -> None:
        """After the commit of watch alerts: whoever set ``raised`` wakes their waiters."""
        if alerts and self.raised is not None:
            self.raised(alerts)

    def _advance(self, conn: Connection, approval_id: str, alerts: list[Any]) -> bool:
        """Take a pending approval as far as the database's clock says: escalation steps whose
        time has come, then at its deadline either one extension (``on_timeout: escalate``,
        the whole ladder made eligible) or expiry. Timeout never approves."""
        row = conn.execute(
            select(approvals.c.state, approvals.c.requirements, approvals.c.opened_at,
                   approvals.c.level, approvals.c.extended, approvals.c.expires_at,
                   approvals.c.agent)
            .where(approvals.c.id == approval_id)
        ).first()  # fmt: skip
        if row is None:
            return False
        if row[0] == "approved":
            return self._expire_grant(conn, approval_id, row[5], row[6])
        if row[0] != "pending":
            return False
        required, opened, level, extended, deadline, agent = (
            json.loads(row[1]),
            row[2],
            int(row[3]),
            bool(row[4]),
            row[5],
            row[6],
        )
        now = self.store.now(conn)
        steps = ladder(required)
        due = steps_due(steps, opened, level, now)
        timed_out = deadline is not None and deadline <= now
        escalate_on_timeout = any(r.get("on_timeout") == "escalate" for r in required)
        if timed_out and escalate_on_timeout and not extended:
            due = steps[level:]  # the whole ladder, now
            timeout = min((int(r.get("timeout_seconds") or 3600) for r in required), default=3600)
            values: dict[str, Any] = {"expires_at": now + timeout, "extended": True}
        elif timed_out:
            return self._expire(conn, approval_id, required, agent)
        elif not due:
            return False
        else:
            values = {}
        self.log.lock(conn)
        for _after, r, group in due:
            escalated = required[r].setdefault("escalated_to", [])
            if group not in escalated:
                escalated.append(group)
        moved = conn.execute(
            update(approvals)
            .where(approvals.c.id == approval_id, approvals.c.state == "pending",
                   approvals.c.level == level, approvals.c.extended == extended)
            .values(requirements=json.dumps(required), level=level + len(due), **values)
        ).rowcount  # fmt: skip
        if not moved:
            return False  # another transaction advanced it first
        groups = sorted({group for _after, _r, group in due})
        event = {"kind": "approval_escalated", "approval": approval_id, "to": groups,
                 "level": level + len(due), "extended": "expires_at" in values}  # fmt: skip
        self.log.append_in(conn, [self._seal(event)])
        self._announce(conn, approval_id)
        self._notify(conn, required, "approval_escalated",
                     {"approval": approval_id, "agent": agent, "to": groups,
                      "extended": "expires_at" in values})  # fmt: skip
        if self.watch is not None:
            facts = conn.execute(select(approvals).where(approvals.c.id == approval_id)).one()
            alerts.extend(self.watch(conn, "escalation", {
                **dict(facts._mapping), "level": level + len(due),
                "pending_seconds": now - opened if opened is not None else -1.0}))  # fmt: skip
        return True

    def _expire_grant(
        self, conn: Connection, approval_id: str, deadline: float | None, agent: str
    ) -> bool:
        """An approved grant left unused past its deadline expires: it can no longer run."""
        if deadline is None or deadline > self.store.now(conn):
            return False
        event = {"kind": "grant_expired", "approval": approval_id, "agent": agent}
        return self._time_up(conn, approval_id, "approved", event)

    def _expire(
        self, conn: Connection, approval_id: str, required: list[dict[str, Any]], agent: str
    ) -> bool:
        """Time is up for a pending approval: it expires, and timeout never approves."""
        event = {"kind": "approval_expired", "approval": approval_id}
        expired = self._time_up(conn, approval_id, "pending", event)
        if expired:
            self._notify(conn, required, "approval_expired",
                         {"approval": approval_id, "agent": agent})  # fmt: skip
        return expired

    def _time_up(
        self, conn: Connection, approval_id: str, state: str, event: dict[str, Any]
    ) -> bool:
        """``state`` → ``expired`` if the deadline has passed on the database's clock (a
        compare-and-set: whoever comes second changes nothing), with its audit event."""
        self.log.lock(conn)
        expired = conn.execute(
            update(approvals)
            .where(
                approvals.c.id == approval_id,
                approvals.c.state == state,
                approvals.c.consumed_at.is_(None),
                approvals.c.expires_at <= self.store.now(conn),
            )
            .values(state="expired", decided_at=func.coalesce(approvals.c.decided_at, func.now()))
        ).rowcount
        if expired:
            self.log.append_in(conn, [event])
            self._announce(conn, approval_id)
        return bool(expired)

    def _view(self, conn: Connection, approval_id: str) -> dict[str, Any] | None:
        row = (
            conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()
        )
        if row is None:
            return None
        cast = conn.execute(
            select(votes.c.email, votes.c.vote, votes.c.comment, votes.c.break_glass)
            .where(votes.c.approval_id == approval_id)
            .order_by(votes.c.created_at, votes.c.email)
        ).all()
        required = json.loads(row["requirements"])
        people = self._people(conn, [v[0] for v in cast])
        return {
            "id": row["id"],
            "state": row["state"],
            "agent": row["agent"],
            "digest": row["digest"],
            "action_index": int(row["action_index"]),
            "required": required,
            "progress": progress(required, [(v[0], v[1]) for v in cast], people, self.groups),
            "votes": [
                {"email": v[0], "vote": v[1], "comment": v[2], "break_glass": bool(v[3])}
                for v in cast
            ],
            "consumed": row["consumed_at"] is not None,
            "expires_at": row["expires_at"],
            "escalation_level": int(row["level"] or 0),
            "extended": bool(row["extended"]),
            "opened_by": row["viewed_by"],
            "second_approver": bool(row["state"] == "pending" and self._second_needed(conn, cast)),
        }

    def _eligible(self, user: User, requirement: Mapping[str, Any]) -> bool:
        return eligible(user, requirement, self.groups)

    def vote(
        self,
        approval_id: str,
        user: User,
        vote: str,
        comment: str = "",
        break_glass: bool = False,
    ) -> dict[str, Any]:
        """Record ``user``'s vote and what it decides; the approval afterwards."""
        if vote not in VOTES:
            raise ApprovalError("invalid_vote", f"vote {vote!r} is not approve or deny")
        if break_glass and user.role != "admin":
            raise ApprovalError("forbidden", f"break-glass is for admins (you are {user.role}); "
                                "vote without it, and your vote counts as one")  # fmt: skip
        if break_glass and vote != "approve":
            raise ApprovalError("invalid_vote", "break-glass only approves; deny without it")
        if break_glass and not says_something(comment):
            raise ApprovalError(
                "reason_required",
                "break-glass needs a reason in comment "
                "(one a reader sees, not only spaces or hidden characters)",
            )
        self._expire_now(approval_id)
        glass = break_glass
        raised: list[Any] = []
        with self.store.writing() as conn:
            rows = self.log.rows_for_change(
                conn, select(approvals).where(approvals.c.id == approval_id)
            )
            row = rows[0]._mapping if rows else None
            if row is None:
                raise ApprovalError("not_found", f"no approval {approval_id}")
            if row["state"] != "pending":
                raise ApprovalError("decided", f"the approval is already {row['state']}")
            now = self.store.now(conn)
            if row["expires_at"] is not None and row["expires_at"] <= now:
                raise ApprovalError("expired", "the approval's time is up")
            required = json.loads(row["requirements"])
            eligible = any(self._eligible(user, r) for r in required)
            if not eligible and not glass:
                mine = [g for g, people in self.groups.items() if user.email in people]
                raise ApprovalError("not_eligible",
                    f"no requirement of this approval names you (it needs {_needs(required)}; "
                    f"the standing orders put you in {', '.join(sorted(mine)) or 'no group'}, "
                    f"as {user.role})",
                )  # fmt: skip
            done = conn.execute(
                select(votes.c.email).where(
                    votes.c.approval_id == approval_id, votes.c.email == user.email
                )
            ).first()
            if done is not None:
                raise ApprovalError("already_voted", "you have voted on this approval")
            conn.execute(
                insert(votes).values(approval_id=approval_id, email=user.email, vote=vote,
                                     comment=comment, break_glass=break_glass)
            )  # fmt: skip
            state = self._state(conn, approval_id, required, glass)
            if state != "pending":
                # An approval becomes a grant with a deadline of its own: use it soon or lose it.
                grant = {"expires_at": now + GRANT_SECONDS} if state == "approved" else {}
                conn.execute(
                    update(approvals)
                    .where(approvals.c.id == approval_id, approvals.c.state == "pending")
                    .values(state=state, decided_at=func.now(), **grant)
                )
            indexes = self.log.append_in(
                conn,
                [self._seal({"kind": "vote", "approval": approval_id, "email": user.email,
                             "role": user.role, "vote": vote, "comment": comment,
                             "break_glass": break_glass, "state": state})],
            )  # fmt: skip
            self._announce(conn, approval_id)
            if self.watch is not None:
                opened = row["opened_at"]
                raised = self.watch(conn, "vote", {
                    **dict(row), "approver": user.email, "vote": vote,
                    "review_seconds": now - opened if opened is not None else -1.0,
                    "vote_index": indexes[0]})  # fmt: skip
            if state != "pending":
                self._notify(conn, required, "approval_decided",
                             {"approval": approval_id, "agent": row["agent"], "state": state,
                              "by": user.email, "comment": comment, "break_glass": break_glass},
                             loud=break_glass)  # fmt: skip
            view = self._view(conn, approval_id)
        self._changed(approval_id)
        self._tell(raised)
        assert view is not None
        return view

    def _state(
        self, conn: Connection, approval_id: str, required: list[dict[str, Any]], glass: bool
    ) -> str:
        cast = conn.execute(
            select(votes.c.email, votes.c.vote).where(votes.c.approval_id == approval_id)
        ).all()
        people = self._people(conn, [c[0] for c in cast])
        state = outcome(required, [(c[0], c[1]) for c in cast], people, self.groups, glass)
        if state == "approved" and not glass and self._second_needed(conn, cast):
            return "pending"
        return state

    def _second_needed(self, conn: Connection, cast: Sequence[Any]) -> bool:
        """Whether the approvers so far are one person under a watch rule's tightening (an
        approver approving too much, too fast): then a second person must approve too."""
        if self.tightenings is None:
            return False
        approvers = {str(c[0]).lower() for c in cast if c[1] == "approve"}
        return len(approvers) < 2 and any(
            self.tightenings.approver_in(conn, email) is not None for email in approvers
        )

    def _people(self, conn: Connection, emails: list[str]) -> dict[str, User]:
        from watchkeeper.store.schema import users

        rows = conn.execute(
            select(users.c.email, users.c.role, users.c.groups).where(
                users.c.email.in_(emails), users.c.disabled_at.is_(None)
            )
        ).all()
        return {r[0]: User.from_row(r) for r in rows}

    def _seal(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.sealer is None:
            return event
        return {**event, "seal": self.sealer.seal(canonical_json(event))}

    def _trusted(self, event: dict[str, Any]) -> bool:
        """An event a release may count: those that widen it (the request, votes, escalations)
        only with this server's seal; those that restrict it always."""
        if self.sealer is None or event.get("kind") not in SEALED:
            return True
        body = {k: v for k, v in event.items() if k not in ("seal", "time")}
        return self.sealer.verifier.sealed(canonical_json(body), event.get("seal"))

    def _vouched(self, conn: Connection, approval_id: str, agent: str, digest: str) -> None:
        """Refuse the release unless the audit log's own events about the approval (its
        request, the votes, escalations, expiries, pauses, an earlier release) say it is
        approved for this agent and this digest, judged again now: a row set to ``approved``
        in the database, or votes inserted beside the log, release nothing."""
        try:
            events = [e for _, e in self.log.about(conn, f"approval:{approval_id}")]
        except ValueError as exc:
            raise _unvouched(approval_id, str(exc)) from None
        events = [e for e in events if self._trusted(e)]
        voters = [str(e.get("email")) for e in events if e.get("kind") == "vote"]
        seen = replay(events, self._people(conn, voters), self.groups)
        if seen["state"] == "missing":
            raise _unvouched(approval_id, "no approval_requested event")
        if (seen["agent"], seen["digest"]) != (agent, digest):
            raise _unvouched(approval_id, "its request names another agent or action")
        if seen["consumed"]:
            raise _unvouched(approval_id, "its grant was already released")
        if seen["state"] != "approved":
            raise _unvouched(approval_id, f"its events say {seen['state']}")

    def consume(self, approval_id: str, agent: str, digest: str) -> Grant:
        """Release the grant: once, to the agent that asked, for exactly the approved action."""
        self._expire_now(approval_id)
        with self.store.writing() as conn:
            # Under the log's lock, pauses are settled: one in force is seen here.
            rows = self.log.rows_for_change(conn,
                select(approvals.c.agent, approvals.c.digest, approvals.c.state,
                       approvals.c.consumed_at, approvals.c.action_index, approvals.c.session)
                .where(approvals.c.id == approval_id)
            )  # fmt: skip
            row = rows[0] if rows else None
            if row is None or row[0] != agent:
                raise ApprovalError("not_found", f"no approval {approval_id} of yours")
            if row[1] != digest:
                raise ApprovalError("digest_mismatch",
                                    "this is not the action that was approved: any change to "
                                    "it is a new action")  # fmt: skip
            if row[2] in ("expired", "cancelled"):
                raise ApprovalError(row[2], f"the approval was {row[2]}")
            if self.pauses is not None and (pause := self.pauses.active_in(conn, agent, row[5])):
                raise ApprovalError("paused", describe(pause))
            released = conn.execute(
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.state == "approved",
                    approvals.c.digest == digest,
                    approvals.c.consumed_at.is_(None),
                    approvals.c.expires_at > self.store.now(conn),
                )
                .values(consumed_at=func.now())
            ).rowcount
            if released != 1:
                what = "already used" if row[3] is not None else f"{row[2]}, not approved"
                raise ApprovalError("not_releasable", f"the approval is {what}")
            # Then the log must agree: a row changed behind its back rolls this release back.
            self._vouched(conn, approval_id, agent, digest)
            self.log.append_in(
                conn, [{"kind": "grant_consumed", "approval": approval_id, "agent": agent,
                        "digest": digest}]
            )  # fmt: skip
        return Grant(approval_id, digest, agent, int(row[4]))


def _needs(required: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for r in required:
        who = [*(f"group {g}" for g in (r.get("group"), *(r.get("escalated_to") or ())) if g),
               *(r.get("users") or ())] or ["any approver"]  # fmt: skip
        parts.append(f"{r.get('quorum') or 1} of {' or '.join(who)}")
    return "; ".join(parts)


def _unvouched(approval_id: str, why: str) -> ApprovalError:
    return ApprovalError(
        "unvouched",
        f"the audit log does not show approval {approval_id} approved ({why}); nothing is "
        "released. Its row says otherwise: run `watchkeeper audit verify` and look for "
        "changes made to the database outside watchkeeper",
    )  # fmt: skip

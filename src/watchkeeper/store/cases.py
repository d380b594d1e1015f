"""Cases: a conversational agent hands a conversation it may not finish to a person.

    cases = Cases(store, waiter, outbox, channels)
    case = cases.open("support-bot", {"summary": "refund of 1,200 for a double charge",
                                      "why": "refunds over 1,000 are outside my charter",
                                      "asks_for": "a refund of the second charge"})
    cases.claim(case["id"], alice)                          # a person takes it from the queue
    cases.hand_back(case["id"], alice, "refund 600 now; the rest after the bank confirms")
    # or cases.resolve(case["id"], alice, "refunded by hand; customer told by email")
    # or cases.release(case["id"], alice, "not mine: billing should take it")  # back to the queue

A case is ``open`` (in the queue), ``claimed`` (a person has it), then ``resolved`` (the person
dealt with it) or ``handed_back`` (the agent goes on, following the person's notes). The last
two are final. Each change is one transaction with its audit event (subject ``case:<id>``), so
the log tells who took which case, when, and what they said; waiters hear of it at once, on
every replica (:class:`~watchkeeper.store.waiting.Waiter`, keyed ``case:<id>``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update

from watchkeeper.errors import CaseError
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import User
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.schema import cases
from watchkeeper.store.waiting import Waiter
from watchkeeper.terminal import says_something
from watchkeeper.wording import kind_of

STATES = ("open", "claimed", "resolved", "handed_back")
#: A case in one of these is over: nobody may claim, release, resolve or hand it back again.
CLOSED = ("resolved", "handed_back")
#: What ``state=`` may ask for when listing: a state, ``active`` (open or claimed) or ``all``.
LISTED = (*STATES, "active", "all")
#: The fields an agent fills in, with the longest text kept for each; longer text is cut, and
#: the cut is said (nothing is refused for being long: the person still gets the case).
FIELDS: dict[str, int] = {
    "summary": 2_000,  # what happened, in a line or two (required)
    "why": 2_000,  # why it is outside the agent's charter (required)
    "asks_for": 2_000,  # what the customer asks for
    "customer": 2_000,  # who the customer is: a name, an account id
    "tried": 8_000,  # what the agent already tried
    "transcript": 32_000,  # the conversation's tail, oldest first
}
REQUIRED = ("summary", "why")
#: Most messages of the transcript kept (its tail).
TRANSCRIPT_MESSAGES = 50
#: Longest notes a person leaves on a case.
MAX_NOTES = 8_000
#: Most cases one agent may have waiting (open or claimed): each is told to every channel, so
#: an agent in a loop must not flood the people who answer.
MAX_ACTIVE_PER_AGENT = 100


def key(case_id: str) -> str:
    """The waiter key of a case: apart from approvals' ids, on the same channel."""
    return f"case:{case_id}"


def _cut(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[:limit] + f"… ({len(value) - limit} characters cut)"


def _text(field: str, value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CaseError(
            "invalid_request", f"{field} must be text, not {kind_of(value)}: {_shown(value)}"
        )
    return _cut(value.strip(), limit)


def _shown(value: Any) -> str:
    return _cut(json.dumps(value, ensure_ascii=False, default=str), 80)


def _tried(value: Any) -> list[str]:
    """What the agent tried: a text, or a list of texts."""
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise CaseError(
            "invalid_request",
            f"tried must be a text or a list of texts, not {_shown(value)}: "
            'send ["looked up the order", "offered a voucher"]',
        )
    kept: list[str] = []
    left = FIELDS["tried"]
    for item in items:
        if left <= 0:
            kept.append(f"… ({len(items) - len(kept)} more cut)")
            break
        kept.append(_cut(item.strip(), left))
        left -= len(item)
    return kept


def _transcript(value: Any) -> list[dict[str, str]]:
    """The conversation's tail: a text (one message from nobody in particular), or a list of
    ``{"role": "customer", "text": "…"}``; the last :data:`TRANSCRIPT_MESSAGES` are kept."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"role": "transcript", "text": _cut(value, FIELDS["transcript"])}]
    fix = 'send [{"role": "customer", "text": "…"}, {"role": "agent", "text": "…"}]'
    if not isinstance(value, list):
        raise CaseError("invalid_request", f"transcript must be a list of messages, not "
                                           f"{kind_of(value)}: {fix}")  # fmt: skip
    messages = []
    for n, message in enumerate(value):
        if (
            not isinstance(message, Mapping)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("text"), str)
        ):
            said = f"transcript[{n}] is {_shown(message)}, not a message with a role and a text"
            raise CaseError("invalid_request", f"{said}: {fix}")
        messages.append({"role": _cut(message["role"], 40), "text": message["text"]})
    cut = len(messages) - TRANSCRIPT_MESSAGES
    kept = messages[-TRANSCRIPT_MESSAGES:]
    left = FIELDS["transcript"]
    for message in reversed(kept):  # the latest messages matter most: they keep their text
        message["text"] = _cut(message["text"], max(left, 0))
        left -= len(message["text"])
    if cut > 0:
        kept.insert(0, {"role": "note", "text": f"{cut} earlier messages cut"})
    return kept


def details(body: Mapping[str, Any]) -> dict[str, Any]:
    """What an agent sends, checked and bounded: every field named in :data:`FIELDS`, nothing
    else. Refused (:class:`~watchkeeper.errors.CaseError`) with the field, the value and the
    fix."""
    unknown = sorted(set(body) - {*FIELDS, "session"})
    if unknown:
        raise CaseError(
            "invalid_request",
            f"unknown field {unknown[0]!r} in the case; the fields are "
            f"{', '.join(FIELDS)} and session",
        )
    found: dict[str, Any] = {
        field: _text(field, body.get(field), limit)
        for field, limit in FIELDS.items()
        if field not in ("tried", "transcript")
    }
    found["tried"] = _tried(body.get("tried"))
    found["transcript"] = _transcript(body.get("transcript"))
    for field in REQUIRED:
        if not says_something(found[field]):
            what = {"summary": "what happened, in a line or two",
                    "why": "why this is outside your charter"}[field]  # fmt: skip
            raise CaseError("invalid_request", f"{field} is required: say {what}")
    return found


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "agent": row.agent,
        "session": row.session,
        "state": row.state,
        **json.loads(row.details),
        "claimed_by": row.claimed_by,
        "notes": row.notes,
        "closed_by": row.closed_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class Cases:
    """The cases of one store."""

    def __init__(
        self,
        store: Store,
        waiter: Waiter | None = None,
        outbox: Outbox | None = None,
        channels: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.log = AuditLog(store)
        self.waiter = waiter
        self.outbox = outbox
        #: Every new case is told to all of these: someone must pick it up.
        self.channels = tuple(channels)

    # -- reading ----------------------------------------------------------------------------

    def get(self, case_id: str) -> dict[str, Any] | None:
        """The case, or ``None``."""
        with self.store.reading() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        return None if row is None else _view(row)

    def recent(
        self, state: str = "active", limit: int = 100, agent: str = "", prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Cases, oldest first for the queue (``open``, ``claimed``, ``active``), newest first
        otherwise; at most ``limit`` (1 to 1000); one agent's; those whose id starts with
        ``prefix``."""
        if state not in LISTED:
            raise CaseError("invalid_request", f"state {state!r} is not one of {', '.join(LISTED)}")
        query = select(cases)
        if state == "active":
            query = query.where(cases.c.state.in_(("open", "claimed")))
        elif state != "all":
            query = query.where(cases.c.state == state)
        if agent:
            query = query.where(cases.c.agent == agent)
        if prefix:  # ids are lower-case hex: a prefix of anything else matches nothing
            query = query.where(cases.c.id.startswith(prefix.lower(), autoescape=True))
        queue = state in ("open", "claimed", "active")
        order = cases.c.created_at if queue else cases.c.created_at.desc()
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(order, cases.c.id).limit(max(1, min(limit, 1000))))
            return [_view(r) for r in rows]

    async def waited(
        self,
        case_id: str,
        seconds: float,
        offload: Callable[[Callable[[], dict[str, Any] | None]], Awaitable[dict[str, Any] | None]],
    ) -> dict[str, Any] | None:
        """The case once its state is not what it was when the wait began (or it is closed),
        or as it is after ``seconds``; holds no thread while nothing changes."""
        first = await offload(lambda: self.get(case_id))
        if first is None or self.waiter is None or seconds <= 0 or first["state"] in CLOSED:
            return first
        began = first["state"]

        def moved(view: dict[str, Any] | None) -> bool:
            return view is None or view["state"] != began

        return await self.waiter.until(
            key(case_id), lambda: offload(lambda: self.get(case_id)), moved, seconds
        )

    # -- changing ---------------------------------------------------------------------------

    def open(self, agent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """An agent's new case, in the queue; told to the channels."""
        found = details(body)
        session = _text("session", body.get("session"), 200) or None
        case_id = uuid.uuid4().hex
        with self.store.writing() as conn:
            waiting = conn.execute(
                select(func.count()).where(
                    cases.c.agent == agent, cases.c.state.in_(("open", "claimed"))
                )
            ).scalar_one()
            if waiting >= MAX_ACTIVE_PER_AGENT:
                raise CaseError(
                    "too_many_cases",
                    f"agent {agent!r} already has {waiting} cases waiting for people; wait for "
                    "them to be answered before opening more",
                )
            now = self.store.now(conn)
            conn.execute(
                insert(cases).values(id=case_id, agent=agent, session=session, state="open",
                                     details=json.dumps(found, ensure_ascii=False),
                                     created_at=now, updated_at=now)
            )  # fmt: skip
            self.log.append_in(conn, [{"kind": "case", "case": case_id, "change": "opened",
                                       "agent": agent, "session": session, **found}])  # fmt: skip
            if self.outbox is not None:
                self.outbox.enqueue_in(conn, self.channels, "case_opened",
                                       {"case": case_id, "agent": agent,
                                        "summary": found["summary"]})  # fmt: skip
            row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
        return _view(row)

    def claim(self, case_id: str, person: User) -> dict[str, Any]:
        """``person`` takes the case from the queue. Claiming one's own case again changes
        nothing; a case someone else holds is refused, naming them."""
        return self._change(case_id, person, "claimed", "")

    def release(self, case_id: str, person: User, notes: str = "") -> dict[str, Any]:
        """The case goes back to the queue (the person who holds it, or an admin)."""
        return self._change(case_id, person, "open", notes)

    def resolve(self, case_id: str, person: User, notes: str) -> dict[str, Any]:
        """The person dealt with it; ``notes`` say how (required). An open case is claimed and
        resolved at once."""
        return self._change(case_id, person, "resolved", notes)

    def hand_back(self, case_id: str, person: User, notes: str) -> dict[str, Any]:
        """Back to the agent, which goes on following ``notes`` (required)."""
        return self._change(case_id, person, "handed_back", notes)

    def _change(self, case_id: str, person: User, to: str, notes: str) -> dict[str, Any]:
        notes = _cut(notes.strip(), MAX_NOTES)
        if to in CLOSED and not says_something(notes):
            said = ("how it was resolved, for the log and the agent" if to == "resolved"
                    else "what the agent should do now: it follows your notes")  # fmt: skip
            raise CaseError("notes_required", f"notes are required: say {said}")
        with self.store.writing() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
            if row is None:
                raise CaseError("not_found", f"no case {case_id}")
            self._may(row, person, to)
            if to == "claimed" and row.state == "claimed":
                return _view(row)  # already theirs: nothing changes, nothing is logged
            change = {"claimed": "claimed", "open": "released", "resolved": "resolved",
                      "handed_back": "handed back"}[to]  # fmt: skip
            values: dict[str, Any] = {"state": to, "updated_at": self.store.now(conn)}
            if to == "claimed":
                values["claimed_by"] = person.email
            elif to == "open":
                values["claimed_by"] = None
            else:
                values.update(claimed_by=row.claimed_by or person.email, notes=notes,
                              closed_by=person.email)  # fmt: skip
            changed = conn.execute(
                update(cases).where(cases.c.id == case_id, cases.c.state == row.state)
                .values(**values)
            ).rowcount  # fmt: skip
            if not changed:  # another writer got there first: the caller reads and retries
                raise CaseError("conflict", f"case {case_id} changed meanwhile; read it again")
            event = {"kind": "case", "case": case_id, "change": change, "agent": row.agent,
                     "by": person.email, "notes": notes}  # fmt: skip
            self.log.append_in(conn, [event])
            if self.waiter is not None:
                self.waiter.announce(conn, key(case_id))
            row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
        if self.waiter is not None:
            self.waiter.changed(key(case_id))
        return _view(row)

    @staticmethod
    def _may(row: Any, person: User, to: str) -> None:
        """Refuse a change the case's state or holder does not allow."""
        if row.state in CLOSED:
            by = f" by {row.closed_by}" if row.closed_by else ""
            said = "resolved" if row.state == "resolved" else "handed back"
            raise CaseError("closed", f"case {row.id} was already {said}{by}")
        held_by = row.claimed_by if row.state == "claimed" else None
        if held_by is None or held_by == person.email:
            if to == "open" and held_by is None:
                raise CaseError("not_claimed", f"case {row.id} is in the queue: nobody holds it")
            return
        if to == "open" and person.role == "admin":
            return  # an admin may put back in the queue what someone left holding
        raise CaseError(
            "claimed", f"case {row.id} is held by {held_by}; they (or an admin) may release it"
        )

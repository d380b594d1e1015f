"""The answer back: what an agent is told, as data and as one sentence a model will follow.

Every door says the same thing for the same outcome: the Claude Code hook, ``sh`` and
``exec``, ``terraform check``, the SDK's exceptions and the HTTP API (``message`` in the answer
to ``POST /v1/actions``, ``answer`` in an agent's ``GET /v1/approvals/{id}``)::

    sentence({"decision": "deny", "rules": ["no-pipe-to-shell"], "reasons": ["…"]})
    # 'Refused by watchkeeper (no-pipe-to-shell): … Do not try the same thing another way; …'
    back(view, instructions=["Snapshot first."])["message"]
    # 'Denied by alice@example.com (approval 3f…): take a snapshot of prod-db first. …'

Only the standard library: the doors that start once per tool call import this.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the doors start as fast as Python does
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

#: What each approval state means for the agent.
DECISIONS = {"approved": "allow", "denied": "deny", "expired": "deny", "cancelled": "deny",
             "pending": "ask"}  # fmt: skip


def sentence(decision: Mapping[str, Any]) -> str:
    """One plain paragraph for the model on a decision: what, why, and what to do instead."""
    kind = decision.get("decision")
    rules = ", ".join(decision.get("rules") or ()) or "no rule"
    reasons = " ".join(_full_stop(str(r)) for r in (decision.get("reasons") or ())[:3])
    said = " ".join(str(i) for i in decision.get("instructions") or ())
    if kind == "allow":
        return f"Allowed by watchkeeper ({rules})."
    head = "Refused" if kind == "deny" else "Held for a person's approval"
    text = f"{head} by watchkeeper ({rules}): {reasons}"
    if said:
        text += f" Instructions: {said}"
    if kind == "deny":
        text += " Do not try the same thing another way; tell the user what was refused and why."
    return text


def _full_stop(text: str) -> str:
    """``text`` as a sentence: reasons are written as clauses, and several run on otherwise."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def comments(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each approver's vote with what they said, in the order they voted."""
    return [
        {"email": v.get("email"), "vote": v.get("vote"), "comment": v.get("comment") or "",
         "break_glass": bool(v.get("break_glass"))}
        for v in view.get("votes") or () if isinstance(v, dict)
    ]  # fmt: skip


def back(view: Mapping[str, Any], instructions: Sequence[str] = ()) -> dict[str, Any]:
    """What the agent receives about its approval ``view`` (``Approvals.get``'s form):
    ``decision``, ``approval_id``, ``state``, the approvers' ``comments``, the rules'
    ``instructions``, the grant's ``constraints`` and the ``message``."""
    state = str(view.get("state"))
    approval = str(view.get("id"))
    said = comments(view)
    constraints: dict[str, Any] = {}
    if state == "approved":
        constraints = {
            "digest": view.get("digest"),
            "uses": 1,
            "expires_at": view.get("expires_at"),
            "used": bool(view.get("consumed")),
        }
    return {
        "decision": DECISIONS.get(state, "deny"),
        "approval_id": approval,
        "state": state,
        "comments": said,
        "instructions": list(instructions),
        "constraints": constraints,
        "message": _message(state, approval, said, instructions, view),
    }


def _message(
    state: str,
    approval: str,
    said: Sequence[Mapping[str, Any]],
    instructions: Sequence[str],
    view: Mapping[str, Any],
) -> str:
    deciding = [c for c in said if c["vote"] == ("approve" if state == "approved" else "deny")]
    who = ", ".join(str(c["email"]) for c in deciding) or "a person"
    words = "; ".join(str(c["comment"]).strip().rstrip(".") for c in deciding if c["comment"])
    todo = f" Instructions: {' '.join(instructions)}" if instructions else ""
    if state == "approved":
        text = f"Approved by {who} (approval {approval})" + (f": {words}." if words else ".")
        used = " It has been used." if view.get("consumed") else ""
        return (f"{text} Run exactly the same action once; any change to it needs a new "
                f"approval.{used}{todo}")  # fmt: skip
    if state == "denied":
        text = f"Denied by {who} (approval {approval})" + (f": {words}." if words else ".")
        return (f"{text} Do not try it another way; do what they said, or ask the user."
                f"{todo}")  # fmt: skip
    if state == "expired":
        return (f"Not approved: approval {approval} expired: nobody decided in time. Tell the "
                "user it is still waiting for a person; running the same action again asks "
                "them again.")  # fmt: skip
    if state == "cancelled":
        return (f"Not approved: approval {approval} was cancelled (everything it covered was "
                "paused). Stop, and tell the user.")  # fmt: skip
    waiting = view.get("progress")
    more = f" ({waiting})" if isinstance(waiting, str) and waiting else ""
    return (f"Held for approval {approval}: nobody has decided yet{more}. Run the same action "
            "again once it is approved, or do something else meanwhile.")  # fmt: skip


def case_back(view: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent receives about its case ``view`` (``Cases.get``'s form): ``case_id``,
    ``state``, who holds or closed it, the person's ``notes`` and the ``message``."""
    state = str(view.get("state"))
    case = str(view.get("id"))
    notes = str(view.get("notes") or "")
    by = view.get("closed_by") or view.get("claimed_by")
    if state == "handed_back":
        message = (
            f"Handed back by {by} (case {case}) with these notes: {notes} "
            "Go on with the conversation as the notes say, and nothing beyond them."
        )
    elif state == "resolved":
        message = (
            f"Resolved by {by} (case {case}): {notes} A person dealt with it: tell the "
            "customer it is handled, as the notes say, and do not act on it yourself."
        )
    elif state == "claimed":
        message = (
            f"A person, {by}, is working on case {case}. Tell the customer a person has it, "
            "and wait for their answer; do not act on it yourself."
        )
    else:
        message = (
            f"Case {case} waits for a person. Tell the customer it has been handed to a "
            "person, and wait for their answer; do not act on it yourself."
        )
    return {"case_id": case, "state": state, "by": by, "notes": notes, "message": message}

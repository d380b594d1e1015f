"""Who belongs to which group: the standing orders say, and nothing else does.

    groups = {"sre": ("alice@example.com", "bob@example.com")}
    effective("alice@example.com", groups)          # ['sre']
    check_new("carol@example.com", ["sre"], groups)  # UsageError: the orders list sre's members

A person's account (``users add``) says who they are and their role; which groups they answer
for is what the orders' ``groups:`` lists. An account may still carry groups from before this
was so, or name one the orders do not define: such a group grants nothing, and ``serve`` and
``lint --db`` say so loudly (:func:`findings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from watchkeeper.errors import UsageError

#: What a person may be: admins do everything, approvers vote and pause, auditors read the log.
ROLES = ("admin", "approver", "auditor")

Groups = Mapping[str, Sequence[str]]


def members(groups: Groups) -> dict[str, set[str]]:
    """Each group's members, as lower-case addresses."""
    return {g: {m.lower() for m in people} for g, people in groups.items()}


def effective(email: str, groups: Groups) -> list[str]:
    """The groups ``email`` belongs to, by the orders."""
    return sorted(g for g, people in members(groups).items() if email.lower() in people)


def check_new(email: str, asked: Iterable[str], groups: Groups) -> list[str]:
    """Refuse an account that claims a group the orders list without it; warnings for groups
    the orders do not define (they grant nothing)."""
    listed, warnings = members(groups), []
    for group in asked:
        if group in listed and email.lower() not in listed[group]:
            raise UsageError(
                f"--group {group}: the standing orders define group {group!r} as "
                f"{', '.join(sorted(listed[group])) or 'nobody'}, without {email}; the orders are "
                f"the one list of who is in a group: add {email} under groups.{group} there"
            )
        if group not in listed:
            warnings.append(
                f"group {group!r} is not in the standing orders: it grants {email} nothing "
                f"until the orders define it (groups.{group})"
            )
    return warnings


def findings(accounts: Mapping[str, Sequence[str]], groups: Groups) -> list[str]:
    """What the accounts in the database (address → the groups stored with it) say that the
    orders do not: groups that grant nothing, and people the orders list with no account."""
    listed, out = members(groups), []
    for email, stored in sorted(accounts.items()):
        for group in sorted(set(stored)):
            if group not in listed:
                out.append(f"{email} is stored in group {group!r}, which the standing orders do "
                           "not define: it grants nothing")  # fmt: skip
            elif email.lower() not in listed[group]:
                out.append(f"{email} is stored in group {group!r}, but the standing orders list "
                           f"{group} without them: they do not answer for it")  # fmt: skip
    known = {e.lower() for e in accounts}
    for group, people in sorted(listed.items()):
        for email in sorted(people - known):
            out.append(f"group {group!r} lists {email}, who has no account: they cannot vote "
                       f"until `watchkeeper users add {email}`")  # fmt: skip
    return out

"""Who is asking: agents with API keys, people with passwords and personal tokens.

    ids = Identities(store)
    key = ids.add_agent("infra-bot")                 # shown once; only its hash is stored
    ids.agent_for(key)                               # "infra-bot"
    password = ids.add_user("alice@example.com", role="approver", groups=["sre"])
    token = ids.issue_token("alice@example.com")     # shown once
    ids.user_for(token).email                        # "alice@example.com"

Keys and tokens are 256 random bits (``wk_agent_…``, ``wk_user_…``), stored as SHA-256: they are
too long to guess, so a fast hash is enough and lookups stay one index probe. Passwords are
people's, so they get argon2id. A key maps to exactly one agent. Every change is an audit event
(without the secret; with the SHA-256 of a key or token, so that one slipped into the database
beside the log is found by ``audit verify``) in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from watchkeeper.errors import Refused, UsageError
from watchkeeper.membership import ROLES
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import agents, console_sessions, user_tokens, users

_AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: How many agents' names a process remembers by key (a few bytes each).
_REMEMBERED = 10_000
_hasher = PasswordHasher()


class IdentityError(UsageError):
    """A name, an address or a role that cannot be used; the message says which and why."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _active_key(digest: bytes) -> Select[tuple[str]]:
    """The name of the agent whose unrevoked key has this digest."""
    return select(agents.c.name).where(agents.c.key_hash == digest, agents.c.revoked_at.is_(None))


def _unexpired(store: Store) -> ColumnElement[bool]:
    """A token that has not expired on the database's clock."""
    return or_(user_tokens.c.expires_at.is_(None), user_tokens.c.expires_at > store.clock())


def new_secret(kind: str) -> str:
    """A fresh credential: ``wk_<kind>_`` and 256 random bits, URL-safe."""
    return f"wk_{kind}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class User:
    """A person watchkeeper knows."""

    email: str
    role: str
    groups: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Any) -> User:
        """The person of a ``users`` row read as ``(email, role, groups)``: the one place a
        row becomes a :class:`User`."""
        return cls(str(row[0]), str(row[1]), tuple(json.loads(row[2])))


class Identities:
    """Agents, users and tokens of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)
        #: Key digest → agent name, for keys seen valid. A key never changes agent, so the
        #: name may be remembered; whether the key is still valid is asked again, in the
        #: transaction that records what it did (:meth:`check_key_in`).
        self._names: dict[bytes, str] = {}

    def add_agent(self, name: str) -> str:
        """Register agent ``name``; return its API key (shown once, never stored)."""
        if not _AGENT.fullmatch(name):
            raise IdentityError(
                f"agent name {name!r} cannot be used; use letters, digits and _ . @ - "
                "(up to 200), starting with a letter or digit"
            )
        key = new_secret("agent")
        try:
            with self.store.writing() as conn:
                conn.execute(insert(agents).values(name=name, key_hash=_digest(key)))
                # The key's SHA-256 (not the key) is logged: a key swapped in the database
                # later no longer matches it (`audit verify`).
                self.log.append_in(conn, [{"kind": "agent_added", "agent": name,
                                           "key_sha256": _digest(key).hex()}])  # fmt: skip
        except IntegrityError:
            raise IdentityError(
                f"agent {name!r} already exists; pick another name (each key maps to one agent)"
            ) from None
        return key

    def revoke_agent(self, name: str) -> None:
        """Revoke agent ``name``'s key, at once on every replica: a decision is recorded only
        if its key is still valid in the recording transaction. Audited. The name stays taken,
        so the log never confuses two agents."""
        with self.store.writing() as conn:
            changed = conn.execute(
                agents.update()
                .where(agents.c.name == name, agents.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            ).rowcount
            if not changed:
                known = conn.execute(select(agents.c.name).where(agents.c.name == name)).first()
                raise IdentityError(
                    f"agent {name!r} is already revoked"
                    if known
                    else f"there is no agent {name!r}; `watchkeeper agents list` shows them"
                )
            self.log.append_in(conn, [{"kind": "agent_revoked", "agent": name}])
        self._names = {d: n for d, n in self._names.items() if n != name}

    def agents(self) -> list[dict[str, Any]]:
        """Every agent: name, when added, when revoked (``None`` while its key works)."""
        with self.store.reading() as conn:
            rows = conn.execute(
                select(agents.c.name, agents.c.created_at, agents.c.revoked_at).order_by(
                    agents.c.name
                )
            ).all()
        return [
            {
                "name": r[0],
                "created_at": r[1].isoformat() if r[1] else None,
                "revoked_at": r[2].isoformat() if r[2] else None,
            }
            for r in rows
        ]

    def agent_for(self, key: str) -> str | None:
        """The agent this API key belongs to, or ``None`` (unknown or revoked)."""
        digest = _digest(key)
        with self.store.reading() as conn:
            row = conn.execute(_active_key(digest)).first()
        if row is None:
            return None
        if len(self._names) >= _REMEMBERED:  # many keys: start again rather than grow
            self._names.clear()
        self._names[digest] = name = str(row[0])
        return name

    def known_agent(self, key: str) -> str | None:
        """The agent of a key :meth:`agent_for` has seen valid, without reading the database;
        ``None`` if it has not. The key may have been revoked since: whatever is recorded for
        it must call :meth:`check_key_in` in the recording transaction."""
        return self._names.get(_digest(key))

    def check_key_in(self, conn: Connection, key: str) -> None:
        """Refuse (``unauthorized``) unless ``key`` is an agent's unrevoked key, in the caller's
        transaction.

        Each key is read once per transaction: the decisions of one group commit share it."""
        digest = _digest(key)
        transaction = conn.get_transaction()
        memo: tuple[object, dict[bytes, bool]] | None = conn.info.get("watchkeeper.keys")
        if memo is None or memo[0] is not transaction:
            memo = conn.info["watchkeeper.keys"] = (transaction, {})
        valid = memo[1].get(digest)
        if valid is None:
            valid = memo[1][digest] = conn.execute(_active_key(digest)).first() is not None
        if not valid:
            self._names.pop(digest, None)
            raise Refused("unauthorized", "this key belongs to no agent (or was revoked)")

    def add_user(
        self, email: str, *, role: str = "approver", groups: list[str], password: str | None = None
    ) -> str | None:
        """Register a person; with no ``password``, return a generated one-time password."""
        if not _EMAIL.fullmatch(email):
            raise IdentityError(f"email {email!r} is not an address; give name@domain")
        if role not in ROLES:
            raise IdentityError(f"role {role!r} is not one of {', '.join(ROLES)}")
        for group in groups:
            if not _GROUP.fullmatch(group):
                raise IdentityError(
                    f"group {group!r} cannot be used; use letters, digits and _ . - (up to 100)"
                )
        generated = None
        if password is None:
            generated = password = secrets.token_urlsafe(18)
        if len(password) < 12:
            raise IdentityError("the password is shorter than 12 characters; choose a longer one")
        try:
            with self.store.writing() as conn:
                conn.execute(
                    insert(users).values(
                        email=email.lower(),
                        role=role,
                        groups=json.dumps(sorted(set(groups))),
                        password_hash=_hasher.hash(password),
                        password_expired=generated is not None,
                    )
                )
                self.log.append_in(
                    conn,
                    [{"kind": "user_added", "email": email.lower(), "role": role,
                      "groups": sorted(set(groups))}],
                )  # fmt: skip
        except IntegrityError:
            raise IdentityError(f"user {email!r} already exists") from None
        return generated

    def users(self) -> list[dict[str, Any]]:
        """Every person: email, role, the groups stored with the account (which grant nothing
        by themselves: see :mod:`watchkeeper.membership`), when added and disabled, and how
        many of their tokens work."""
        working = (
            select(func.count())
            .where(user_tokens.c.email == users.c.email, user_tokens.c.revoked_at.is_(None),
                   _unexpired(self.store))
            .scalar_subquery()
        )  # fmt: skip
        with self.store.reading() as conn:
            rows = conn.execute(
                select(users.c.email, users.c.role, users.c.groups, users.c.created_at,
                       users.c.disabled_at, working.label("tokens"))
                .order_by(users.c.email)
            ).all()  # fmt: skip
        return [
            {
                "email": r[0],
                "role": r[1],
                "stored_groups": json.loads(r[2]),
                "created_at": r[3].isoformat() if r[3] else None,
                "disabled_at": r[4].isoformat() if r[4] else None,
                "tokens": int(r[5]),
            }
            for r in rows
        ]

    def check_password(self, email: str, password: str) -> User | None:
        """The user, if ``password`` is theirs; ``None`` otherwise (no hint which part failed)."""
        with self.store.reading() as conn:
            row = conn.execute(
                select(users.c.email, users.c.role, users.c.groups, users.c.password_hash).where(
                    users.c.email == email.lower(), users.c.disabled_at.is_(None)
                )
            ).first()
        if row is None:
            _hasher.hash(password)  # the same cost as a real check: no timing hint
            return None
        try:
            _hasher.verify(row[3], password)
        except Argon2Error:
            return None
        return User.from_row(row)

    def password_expired(self, email: str) -> bool:
        """Whether ``email`` holds a one-time password, to be replaced before anything else."""
        with self.store.reading() as conn:
            found = conn.execute(
                select(users.c.password_expired).where(users.c.email == email.lower())
            ).scalar()
        return bool(found)

    def reset_password(self, email: str) -> str:
        """A new one-time password for ``email`` (returned once), for a person who cannot sign
        in: the old password stops working, their console sessions end, and the next sign-in
        may only choose a new password. Recorded in the audit log (without the password)."""
        generated = secrets.token_urlsafe(18)
        with self.store.writing() as conn:
            self._known(conn, email)
            conn.execute(
                update(users)
                .where(users.c.email == email.lower())
                .values(password_hash=_hasher.hash(generated), password_expired=True)
            )
            conn.execute(delete(console_sessions).where(console_sessions.c.email == email.lower()))
            self.log.append_in(conn, [{"kind": "password_reset", "email": email.lower()}])
        return generated

    def spend_one_time(self, email: str, password: str) -> bool:
        """Whether ``password`` is ``email``'s unspent one-time password; if so it is spent in
        the same transaction (replaced by a random hash), so that of sign-ins sent at once with
        it exactly one succeeds. The session it opens may only choose a new password
        (:meth:`change_password` with ``forced``)."""
        with self.store.writing() as conn:
            query = select(users.c.password_hash).where(
                users.c.email == email.lower(), users.c.password_expired.is_(True),
                users.c.disabled_at.is_(None),
            )  # fmt: skip
            if self.store.dialect == "postgresql":
                query = query.with_for_update()
            stored = conn.execute(query).scalar()
            if stored is None:
                return False
            try:
                _hasher.verify(stored, password)
            except Argon2Error:
                return False
            conn.execute(
                update(users)
                .where(users.c.email == email.lower())
                .values(password_hash=_hasher.hash(secrets.token_urlsafe(32)))
            )
        return True

    def change_password(self, email: str, old: str, new: str, *, forced: bool = False) -> None:
        """Replace ``email``'s password, given the current one (not when ``forced``: a session
        opened by a one-time password, which is spent); refused with what to fix. Recorded in
        the audit log (without either password)."""
        if not forced and self.check_password(email, old) is None:
            raise IdentityError("the current password is not right")
        if len(new.strip()) < 12:
            raise IdentityError(
                "the new password is shorter than 12 characters (spaces around it do not "
                "count); choose a longer one"
            )
        if not forced and new == old:
            raise IdentityError("the new password is the current one; choose another")
        with self.store.writing() as conn:
            conn.execute(
                update(users)
                .where(users.c.email == email.lower())
                .values(password_hash=_hasher.hash(new), password_expired=False)
            )
            self.log.append_in(conn, [{"kind": "password_changed", "email": email.lower()}])

    def issue_token(self, email: str, expires_in: float | None = None) -> str:
        """A personal token for ``email`` (shown once), working for ``expires_in`` seconds on
        the database's clock (``None``: until revoked)."""
        token = new_secret("user")
        with self.store.writing() as conn:
            exists = conn.execute(
                select(users.c.email).where(
                    users.c.email == email.lower(), users.c.disabled_at.is_(None)
                )
            ).first()
            if exists is None:
                raise IdentityError(
                    f"no user {email!r} (or the account is disabled); add them with "
                    "`watchkeeper users add`, or `watchkeeper users enable`"
                )
            until = None if expires_in is None else self.store.now(conn) + expires_in
            digest = _digest(token)
            conn.execute(
                insert(user_tokens).values(token_hash=digest, email=email.lower(), expires_at=until)
            )
            issued = {"kind": "token_issued", "email": email.lower(),
                      "token_sha256": digest.hex(), "expires_at": until}  # fmt: skip
            self.log.append_in(conn, [issued])
        return token

    def revoke_tokens(self, email: str) -> int:
        """Revoke every working token of ``email``, at once on every replica; how many.
        Audited with their SHA-256."""
        with self.store.writing() as conn:
            self._known(conn, email)
            working = select(user_tokens.c.token_hash).where(
                user_tokens.c.email == email.lower(), user_tokens.c.revoked_at.is_(None)
            )
            digests = [bytes(d) for d in conn.execute(working).scalars()]
            if digests:
                conn.execute(
                    update(user_tokens)
                    .where(user_tokens.c.token_hash.in_(digests))
                    .values(revoked_at=func.now())
                )
                revoked = {"kind": "token_revoked", "email": email.lower(),
                           "tokens": sorted(d.hex() for d in digests)}  # fmt: skip
                self.log.append_in(conn, [revoked])
        return len(digests)

    def disable_user(self, email: str) -> None:
        """Disable a person's account, at once on every replica: their tokens stop working
        from the next request and their votes stop counting. Audited."""
        self._set_disabled(email, True)

    def enable_user(self, email: str) -> None:
        """Enable a disabled account again (tokens revoked meanwhile stay revoked). Audited."""
        self._set_disabled(email, False)

    def _set_disabled(self, email: str, disabled: bool) -> None:
        with self.store.writing() as conn:
            self._known(conn, email)
            changed = conn.execute(
                update(users)
                .where(users.c.email == email.lower(),
                       users.c.disabled_at.is_(None) if disabled
                       else users.c.disabled_at.is_not(None))
                .values(disabled_at=func.now() if disabled else None)
            ).rowcount  # fmt: skip
            if not changed:
                raise IdentityError(
                    f"user {email!r} is already {'disabled' if disabled else 'enabled'}"
                )
            if disabled:  # their console sessions end, and do not come back on enabling
                conn.execute(
                    delete(console_sessions).where(console_sessions.c.email == email.lower())
                )
            kind = "user_disabled" if disabled else "user_enabled"
            self.log.append_in(conn, [{"kind": kind, "email": email.lower()}])

    def _known(self, conn: Connection, email: str) -> None:
        if conn.execute(select(users.c.email).where(users.c.email == email.lower())).first():
            return
        raise IdentityError(f"there is no user {email!r}; `watchkeeper users list` shows them")

    def user_for(self, token: str) -> User | None:
        """The person this token belongs to, or ``None`` (unknown, revoked or disabled)."""
        with self.store.reading() as conn:
            row = conn.execute(
                select(users.c.email, users.c.role, users.c.groups)
                .select_from(user_tokens.join(users, user_tokens.c.email == users.c.email))
                .where(
                    user_tokens.c.token_hash == _digest(token),
                    user_tokens.c.revoked_at.is_(None),
                    users.c.disabled_at.is_(None),
                    _unexpired(self.store),
                )
            ).first()
        return None if row is None else User.from_row(row)

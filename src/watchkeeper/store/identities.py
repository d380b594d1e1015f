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
(without the secret) in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from watchkeeper.errors import UsageError
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import agents, user_tokens, users

ROLES = ("admin", "approver", "auditor")
_AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_hasher = PasswordHasher()


class IdentityError(UsageError):
    """A name, an address or a role that cannot be used; the message says which and why."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_secret(kind: str) -> str:
    """A fresh credential: ``wk_<kind>_`` and 256 random bits, URL-safe."""
    return f"wk_{kind}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class User:
    """A person watchkeeper knows."""

    email: str
    role: str
    groups: tuple[str, ...]


class Identities:
    """Agents, users and tokens of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)

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
                self.log.append_in(conn, [{"kind": "agent_added", "agent": name}])
        except IntegrityError:
            raise IdentityError(
                f"agent {name!r} already exists; pick another name (each key maps to one agent)"
            ) from None
        return key

    def agent_for(self, key: str) -> str | None:
        """The agent this API key belongs to, or ``None`` (unknown or revoked)."""
        with self.store.reading() as conn:
            row = conn.execute(
                select(agents.c.name, agents.c.key_hash).where(
                    agents.c.key_hash == _digest(key), agents.c.revoked_at.is_(None)
                )
            ).first()
        return None if row is None else str(row[0])

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
        return User(row[0], row[1], tuple(json.loads(row[2])))

    def issue_token(self, email: str) -> str:
        """A personal token for ``email`` (shown once)."""
        token = new_secret("user")
        with self.store.writing() as conn:
            exists = conn.execute(
                select(users.c.email).where(
                    users.c.email == email.lower(), users.c.disabled_at.is_(None)
                )
            ).first()
            if exists is None:
                raise IdentityError(f"no user {email!r}; add them with `watchkeeper users add`")
            conn.execute(insert(user_tokens).values(token_hash=_digest(token), email=email.lower()))
            self.log.append_in(conn, [{"kind": "token_issued", "email": email.lower()}])
        return token

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
                )
            ).first()
        return None if row is None else User(row[0], row[1], tuple(json.loads(row[2])))

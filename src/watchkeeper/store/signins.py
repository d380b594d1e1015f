"""People signed in to the console: sessions with idle and absolute timeouts, and a limit on
failed sign-ins, in the database so that every replica agrees.

    signins = SignIns(store, idle=1800, longest=43200)
    wait, ids = signins.attempt(["account:alice@example.com", "address:203.0.113.7"])
    signins.succeeded(ids)                                # the password was right
    secret, csrf = signins.start("alice@example.com")     # the cookie holds the secret
    session = signins.find(secret)                        # None once idle or too old
    signins.end(secret)                                   # sign out

Only the SHA-256 of a session's secret is stored: a copy of the database signs nobody in. A
session ends when its person is disabled, when it has been idle for ``idle`` seconds, or
``longest`` seconds after it began, whatever happens in between; changing the password ends
every other session of that person.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text, update

from watchkeeper.store.database import Store
from watchkeeper.store.identities import User
from watchkeeper.store.schema import console_sessions, login_failures, users

#: Failed sign-ins allowed per account, and per address, within :data:`WINDOW` seconds.
PER_ACCOUNT = 5
PER_ADDRESS = 20
WINDOW = 15 * 60.0
#: How stale ``seen_at`` may get before a request writes it again (idle timeouts are this
#: coarse; a write per page view is not worth it).
SEEN_EVERY = 30.0


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person, as a request sees them."""

    user: User
    csrf: str
    password_expired: bool


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class SignIns:
    """The console sessions and failed sign-ins of one store."""

    def __init__(self, store: Store, idle: float, longest: float) -> None:
        self.store = store
        self.idle = idle
        self.longest = longest

    def attempt(self, keys: Sequence[str]) -> tuple[float | None, list[int]]:
        """Count a sign-in attempt against each of ``keys`` (``account:…``, ``address:…``)
        before its password is checked: ``(None, ids)`` when it may go ahead (pass ``ids`` to
        :meth:`succeeded` if the password is right), or ``(seconds to wait, [])`` when a key
        has had its share. Counting first, under a lock, is what bounds guesses sent all at
        once: each waits for the one before it to be counted."""
        with self.store.writing() as conn:
            if self.store.dialect == "postgresql":  # SQLite's writers are one at a time already
                for key in sorted(keys):
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            now = self.store.now(conn)
            conn.execute(delete(login_failures).where(login_failures.c.at <= now - WINDOW))
            worst = None
            for key in keys:
                limit = PER_ACCOUNT if key.startswith("account:") else PER_ADDRESS
                times = conn.execute(
                    select(login_failures.c.at)
                    .where(login_failures.c.key == key[:400], login_failures.c.at > now - WINDOW)
                    .order_by(login_failures.c.at.desc())
                    .limit(limit)
                ).scalars().all()  # fmt: skip
                if len(times) >= limit:  # free again when the oldest counted one ages out
                    worst = max(worst or 0.0, times[-1] + WINDOW - now)
            if worst is not None:
                return worst, []
            ids = [
                int(conn.execute(insert(login_failures).values(key=k[:400], at=now)
                                 .returning(login_failures.c.id)).scalar_one())
                for k in keys
            ]  # fmt: skip
        return None, ids

    def succeeded(self, ids: Sequence[int]) -> None:
        """The attempt counted as ``ids`` had the right password: it is not a failure."""
        if ids:
            with self.store.writing() as conn:
                conn.execute(delete(login_failures).where(login_failures.c.id.in_(list(ids))))

    def start(self, email: str) -> tuple[str, str]:
        """A new session for ``email``: its secret (for the cookie) and its forms' token."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.store.writing() as conn:
            now = self.store.now(conn)
            conn.execute(  # sessions past their time are removed as new ones begin
                delete(console_sessions).where(
                    (console_sessions.c.seen_at <= now - self.idle)
                    | (console_sessions.c.created_at <= now - self.longest)
                )
            )
            conn.execute(insert(console_sessions).values(
                id_hash=_hash(secret), email=email.lower(), csrf=csrf, created_at=now,
                seen_at=now))  # fmt: skip
        return secret, csrf

    def find(self, secret: str) -> Session | None:
        """The session of ``secret`` if it is still good (its person enabled, not idle too
        long, not too old); it counts as seen now."""
        if not secret:
            return None
        digest = _hash(secret)
        with self.store.reading() as conn:
            now = self.store.now(conn)
            row = conn.execute(
                select(users.c.email, users.c.role, users.c.groups, console_sessions.c.csrf,
                       users.c.password_expired, console_sessions.c.seen_at,
                       console_sessions.c.created_at)
                .join(users, users.c.email == console_sessions.c.email)
                .where(console_sessions.c.id_hash == digest, users.c.disabled_at.is_(None))
            ).first()  # fmt: skip
        if row is None or row[5] <= now - self.idle or row[6] <= now - self.longest:
            return None
        if now - row[5] > SEEN_EVERY:
            with self.store.writing() as conn:
                conn.execute(update(console_sessions)
                             .where(console_sessions.c.id_hash == digest)
                             .values(seen_at=func.greatest(console_sessions.c.seen_at, now)
                                     if self.store.dialect == "postgresql"
                                     else func.max(console_sessions.c.seen_at, now)))  # fmt: skip
        return Session(User.from_row(row), str(row[3]), bool(row[4]))

    def end(self, secret: str) -> None:
        """Sign out: the session is gone."""
        with self.store.writing() as conn:
            conn.execute(
                delete(console_sessions).where(console_sessions.c.id_hash == _hash(secret))
            )

    def end_others(self, email: str, keep: str) -> None:
        """End every session of ``email`` but ``keep``'s (after a password change)."""
        with self.store.writing() as conn:
            conn.execute(
                delete(console_sessions).where(
                    console_sessions.c.email == email.lower(),
                    console_sessions.c.id_hash != _hash(keep),
                )
            )

"""The warm decider behind :mod:`watchkeeper.doors.warm`: a door's own work, kept loaded.

Started by the first call of a door that found none, with the socket path, the orders and the
database of its key; it answers on that socket until ``WATCHKEEPER_WARM_IDLE_SECONDS`` pass without
a request, its socket is taken away, its code changes or it gets SIGTERM. One request per
connection, as netstrings: ``kind``, ``key``, ``args`` (a Python literal tuple of strings) and
``payload``; the reply is ``status``, ``meta`` and ``text``:

- ``decide``: the payload is an action as JSON; the reply is the decision's kind and the
  decision as JSON, as the service would give it in the door's process;
- ``shown``: the same, the decision written as ``check --json`` prints it;
- ``hook``: the payload is a Claude Code hook event, the args the hook's options; the reply is
  the hook's answer, worked out by the hook's own code (:func:`watchkeeper.doors.hook.respond`).

Each connection is answered in a thread of its own, since a hook in server mode may wait for
an approval; the decisions made here, in process, are made one at a time.
:func:`decide_text` is also how ``check`` decides one action in process, so the two paths read
an action the same way::

    service = Service.open(orders)
    decide_text(service, '{"tool": "shell", "input": {"command": "ls"}}').decision  # 'allow'
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchkeeper import strict_json
from watchkeeper.decision import Decision
from watchkeeper.doors import warm
from watchkeeper.errors import InvalidJSON

if TYPE_CHECKING:  # the decider's process imports them; check's in-process path does not
    from collections.abc import Iterator

    from watchkeeper.orders.model import StandingOrders
    from watchkeeper.service import Service
    from watchkeeper.store.database import Store

#: Seconds one connection may take to send its request.
READ_TIMEOUT = 10.0


def read_action(text: str) -> tuple[Any, str | None]:
    """Parse one action document: ``(data, None)``, or ``(None, problem)``."""
    try:
        return strict_json.loads(text, what="the action"), None
    except InvalidJSON as exc:
        return None, f"invalid action: {exc}"


def decide_text(service: Service, text: str) -> Decision:
    """The decision on one action given as JSON text; text that is not an action is denied."""
    data, problem = read_action(text)
    if problem is not None:
        return Decision.fail_closed(problem, orders_digest=service.orders.digest)
    # A door that answers at once cannot take a grant: an ``ask`` opens no approval.
    return service.submit(data, open_approval=False).decision


Fingerprint = tuple[tuple[str, int, int, int, int, int], ...]


def _identity(path: Path | str) -> tuple[str, int, int, int, int, int]:
    """A file as it is now: path, device, inode, size, modification and change times (the
    change time cannot be set back, as the modification time can)."""
    st = os.stat(path)
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fingerprint(orders: str | None) -> Fingerprint:
    """What the orders' files look like now (see :func:`_identity`)."""
    from watchkeeper.orders.loader import BUILTIN_NAME, order_files

    if orders:
        paths = order_files(Path(orders))
    else:
        from importlib import resources

        paths = [Path(str(resources.files("watchkeeper.orders").joinpath("builtin", BUILTIN_NAME)))]
    return tuple(_identity(path) for path in paths)


def _code() -> dict[str, int]:
    """The modification time of each module file this process has loaded: watchkeeper's and
    every library's (an upgraded parser must not go on deciding with its old code)."""
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            with contextlib.suppress(OSError):
                found[path] = os.stat(path).st_mtime_ns
    return found


#: Seconds between looks at the loaded modules' files (a few hundred ``stat`` calls).
CODE_EVERY = 1.0


class Warm:
    """The compiled orders for one key, loaded again whenever their files change, and the
    service over them. A SQLite database is opened for each decision and closed after it, as
    a door's own process does: a file held open across requests would be written to after
    someone replaced it. Another database stays open."""

    def __init__(self, orders: str | None, db: str | None) -> None:
        from watchkeeper.config import Settings

        self.settings = Settings()
        with contextlib.suppress(Exception):  # refused again, in words, on each request
            self.settings = Settings.from_env()
        self.orders = orders
        self.db = db
        self.per_decision = bool(db and db.startswith("sqlite"))
        self.loaded: StandingOrders | None = None
        self.seen: Fingerprint = ()
        self.store: Store | None = None
        self.service: Service | None = None
        self.code: dict[str, int] = {}
        self.looked = 0.0
        self.changed = False
        self.modules = 0
        self.lock = threading.Lock()

    def decide(self, text: str) -> Decision:
        """The decision on the action ``text``, under the orders as they are now."""
        with self.lock:
            try:
                return decide_text(self._current(), text)
            except Exception:  # opened afresh for the next request: nothing half-broken kept
                self.close()
                raise
            finally:
                if self.per_decision:
                    self.close()

    def decision(self, text: str) -> dict[str, Any]:
        """:meth:`decide`, as JSON data: what a door in process gets."""
        return self.decide(text).to_json()

    def prepare(self) -> None:
        """Load the orders and run the analyzers once, before the first request; nothing is
        recorded, and no database is opened."""
        from watchkeeper.gateway import Gateway

        with self.lock:
            Gateway(self._orders()).decide({"tool": "shell", "input": {"command": "true"}})

    def _orders(self) -> StandingOrders:
        """The orders as their files are now; raise if they no longer load."""
        from watchkeeper.orders.loader import builtin, load

        now = _fingerprint(self.orders)
        if self.loaded is None or now != self.seen:
            self.loaded = None
            self.close()
            self.loaded, self.seen = (load(self.orders) if self.orders else builtin()), now
        return self.loaded

    def _current(self) -> Service:
        """The service for the orders as they are now, over the database."""
        from watchkeeper.config import Settings
        from watchkeeper.service import Service
        from watchkeeper.store.database import Store

        Settings.from_env()  # settings that cannot be used are an error, as in a door's process
        loaded = self._orders()
        if self.service is None:
            if self.db and self.store is None:  # a database that was down is tried again
                self.store = Store.open(self.db)
            self.service = Service.open(loaded, self.store, self.settings)
        return self.service

    def outdated(self) -> bool:
        """Whether code this process loaded changed under it (an upgrade, an edit); looked at
        no more than once every :data:`CODE_EVERY` seconds."""
        now = time.monotonic()
        if self.changed or now - self.looked < CODE_EVERY:
            return self.changed
        self.looked = now
        for path, seen in list(self.code.items()):
            try:
                changed = os.stat(path).st_mtime_ns != seen
            except OSError:
                changed = True
            if changed:
                self.changed = True  # for good: the decider leaves
                break
        return self.changed

    def note_code(self) -> None:
        """Remember the modules loaded since (the SQL parser's, on first use)."""
        if len(sys.modules) == self.modules:
            return
        self.modules = len(sys.modules)
        for path, seen in _code().items():
            self.code.setdefault(path, seen)

    def close(self) -> None:
        """Let the service and the database go (the compiled orders are kept)."""
        service, store = self.service, self.store
        self.service, self.store = None, None
        if service is not None:
            with contextlib.suppress(Exception):
                service.close()
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()


def answer(warmed: Warm, wanted: bytes, raw: bytes) -> bytes:
    """The reply to one request, framed."""
    try:
        kind, key, args, payload = warm.unframe(raw)
        if key != wanted:
            return warm.frame(b"error", b"", b"this decider serves other orders or settings")
        options = ast.literal_eval(args.decode())
        if kind == b"hook":
            from watchkeeper.doors import hook

            text = hook.respond(dict(options), payload, warmed.decision)
            return warm.frame(b"ok", b"", text.encode())
        decision = warmed.decide(payload.decode())
        if kind == b"shown":
            from watchkeeper import terminal

            shown = terminal.json_text(decision.to_json())
            return warm.frame(b"ok", decision.decision.encode(), shown.encode())
        if kind == b"decide":
            body = json.dumps(decision.to_json())
            return warm.frame(b"ok", decision.decision.encode(), body.encode())
        return warm.frame(b"error", b"", b"unknown request " + kind[:40])
    except Exception as exc:  # the door works in process, where the error is met again
        return warm.frame(b"error", b"", f"{type(exc).__name__}: {exc}".encode())


@contextlib.contextmanager
def _listening(path: str) -> Iterator[socket.socket | None]:
    """The socket at ``path``, bound and listening; ``None`` if another decider holds it."""
    lock = open(f"{path}.lock", "a+")  # noqa: SIM115 - held for the decider's whole life
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")  # for stop(): who holds the socket
        lock.flush()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by a decider that was killed
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            server.bind(path)
        finally:
            os.umask(mask)
        inode = os.stat(path).st_ino
        try:
            server.listen(64)
            yield server
        finally:
            server.close()
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
    finally:
        lock.close()


def serve(path: str, orders: str | None, db: str | None) -> None:
    """Answer requests at ``path`` until idle, the socket is taken away, the code changes or
    SIGTERM; then finish the requests in hand."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(Exception):  # a decider that cannot start leaves quietly
        _serve(path, orders, db)


def _serve(path: str, orders: str | None, db: str | None) -> None:
    for name in warm.PER_CALL:  # each call says its own
        os.environ.pop(name, None)
    wanted = warm.key(orders, db)
    with _listening(path) as server:
        if server is None:
            return
        warmed = Warm(orders, db)
        working: set[threading.Thread] = set()
        try:
            with contextlib.suppress(Exception):
                warmed.prepare()
                from watchkeeper import terminal  # noqa: F401 - loaded now, not on a request
                from watchkeeper.doors import hook  # noqa: F401

                # The SQL parser is left to the first statement (see analyzers/lazy.py): most
                # sessions never send one, and it is the dearest import there is.
            warmed.note_code()
            server.settimeout(warmed.settings.warm_idle_seconds)
            inode = os.stat(path).st_ino
            while not warmed.outdated() and _still(path, inode):
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    if any(t.is_alive() for t in working):
                        continue
                    return
                thread = threading.Thread(target=_serve_one, args=(conn, warmed, wanted, path))
                working = {t for t in working if t.is_alive()} | {thread}
                thread.start()
        finally:
            server.close()  # no new requests; those in hand are answered
            for thread in working:
                thread.join()
            warmed.close()


def _still(path: str, inode: int) -> bool:
    """Whether the socket at ``path`` is still this decider's."""
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _serve_one(conn: socket.socket, warmed: Warm, wanted: bytes, path: str) -> None:
    with contextlib.suppress(OSError):
        os.utime(f"{path}.lock")  # asked now: the least recently asked is stopped first
    with conn:
        conn.settimeout(READ_TIMEOUT)
        try:
            raw = warm.read_all(conn)
        except OSError:
            return
        conn.settimeout(None)
        if warmed.outdated():  # the door works with the new code; the decider leaves
            reply = warm.frame(b"error", b"", b"watchkeeper changed since this decider started")
        else:
            reply = answer(warmed, wanted, raw)
        warmed.note_code()
        with contextlib.suppress(OSError):
            conn.sendall(reply)


def stop(place: str) -> int:
    """Stop every decider whose socket is in the directory ``place``; how many were asked."""
    stopped = 0
    for name in os.listdir(place):
        if not name.endswith(".sock.lock"):
            continue
        with open(os.path.join(place, name)) as lock:
            try:  # a lock still held is a decider still running
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = int(lock.read().strip() or 0)
                if pid > 0:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                        stopped += 1
    return stopped


if __name__ == "__main__":  # pragma: no cover - run as a process by the tests
    serve(sys.argv[1], sys.argv[2] or None, sys.argv[3] or None)

"""The warm decider's client: the doors run once per tool call, without paying the start-up.

A door run once per tool call (the Claude Code hook, ``sh``, ``exec``, ``check --json``) spent
almost all its time importing the analyzers and compiling the orders, about a quarter of a
second, before a decision that takes a millisecond; in server mode, importing JSON, HTTP and
its own logic. So the first call starts a decider in the background
(:mod:`watchkeeper.doors.decider`), which keeps the orders compiled and the door's code loaded,
and the next calls hand it their input over a Unix socket private to the user and print its
answer; the call that started it works in its own process meanwhile. The decider runs the
door's own code, on the same orders, settings and audit log, so the answer is the one the door
would have given, only sooner::

    reply = warm.call("decide", (), b'{"tool": "shell", ...}', orders=None, db=None, timeout=25)
    if reply is None:          # no decider answered: work in this process (and one starts)
        ...
    meta, text = reply         # for "decide": the decision's kind, and the decision as JSON

Never stale, never wider: a decider is keyed by everything its answers depend on (the
version, the interpreter, the orders' path, the database, the ``WATCHKEEPER_*`` settings and
where the user's files are), it refuses a request whose key is not its own, it reloads the
orders when one of their files changes and leaves when its own code changes. Anything that
goes wrong on the way (no decider, a stale socket, an answer that is not one) is ``None``: the
door then works in process, exactly as it would without a decider.

This module imports nothing but the interpreter's built-in modules, so a door that finds a
decider starts about as fast as Python does. The socket lives in
``$XDG_RUNTIME_DIR/watchkeeper`` (else ``/tmp/watchkeeper-UID``), a directory that must belong
to the user and be closed to everyone else, or no decider is used. A decider leaves after
``WATCHKEEPER_WARM_IDLE_SECONDS`` (900) without a request. ``WATCHKEEPER_WARM=0`` turns all
this off.
"""

from __future__ import annotations

import _socket
import os
import stat  # loaded by os already
import sys
import time

from watchkeeper._version import __file__ as _version_file
from watchkeeper._version import __version__

TYPE_CHECKING = False  # not typing's: see the module's docstring
if TYPE_CHECKING:
    from collections.abc import Mapping

#: The longest a decision (not a hook's wait for an approval) may take a decider: it takes
#: milliseconds, and one that takes longer is stopped.
DECIDE_SECONDS = 5.0
#: The largest request or answer read: a hook event is at most 8 MiB.
MAX_MESSAGE = 16 * 1024 * 1024
#: Settings that are not the decider's: each call passes them itself (the environment a call
#: claims), or they are read by the door's own process only (``sh`` and ``exec``).
PER_CALL = ("WATCHKEEPER_ENVIRONMENT", "WATCHKEEPER_WARM", "WATCHKEEPER_SESSION",
            "WATCHKEEPER_WAIT", "WATCHKEEPER_SHELL")  # fmt: skip
#: Variables besides ``WATCHKEEPER_*`` that an answer depends on: where the user's files are.
_PLACES = ("HOME", "XDG_STATE_HOME")
#: Prefixes of variables that change what the decider's interpreter loads or trusts.
_INTERPRETER = ("PYTHON", "SSL_")


def enabled() -> bool:
    """Whether doors use warm deciders (``WATCHKEEPER_WARM`` is not ``0``)."""
    return os.environ.get("WATCHKEEPER_WARM", "1") != "0"


def key(orders: str | None, db: str | None, environ: Mapping[str, str] | None = None) -> bytes:
    """Everything a decider's answers depend on besides the call itself (``environ``: the
    environment variables of the door, by default this process's)."""
    settings = tuple(
        sorted(
            (name, value)
            for name, value in (os.environ if environ is None else environ).items()
            if (name.startswith("WATCHKEEPER_") and name not in PER_CALL)
            or name in _PLACES
            or name.startswith(_INTERPRETER)
        )
    )
    where = os.path.abspath(orders) if orders else None
    # A database URL may name a file relative to where the door runs.
    cwd = os.getcwd() if db else None
    package = os.path.dirname(os.path.abspath(_version_file))
    return repr((__version__, package, sys.executable, where, db or None, cwd, settings)).encode()


def directory() -> str | None:
    """The user's private socket directory, made if missing; ``None`` if it is not private."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        base = os.path.join(runtime, "watchkeeper")
    else:
        base = os.path.join("/tmp", f"watchkeeper-{os.getuid()}")
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(base)
    except OSError:
        return None
    private = (
        stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & 0o077
    )
    return base if private else None


def socket_path(wanted: bytes) -> str | None:
    """Where the decider for the key ``wanted`` listens, named by a digest of it."""
    import binascii

    place = directory()
    if place is None:
        return None
    name = f"{binascii.crc32(wanted):08x}{binascii.crc32(wanted[::-1]):08x}"
    path = os.path.join(place, f"{name}.sock")
    # A Unix socket's path holds at most 107 bytes: a longer one cannot be listened on.
    return path if len(os.fsencode(path)) < 108 else None


def frame(*fields: bytes) -> bytes:
    """Fields as netstrings: ``5:hello,``."""
    return b"".join(b"%d:%s," % (len(field), field) for field in fields)


def unframe(data: bytes) -> list[bytes]:
    """The fields of :func:`frame`; ``ValueError`` if ``data`` is not made of them."""
    fields, at = [], 0
    while at < len(data):
        colon = data.index(b":", at, at + 12)
        size = int(data[at:colon])
        end = colon + 1 + size
        if size < 0 or data[end : end + 1] != b",":
            raise ValueError("not a netstring")
        fields.append(data[colon + 1 : end])
        at = end + 1
    return fields


def call(
    kind: str,
    args: tuple[object, ...],
    payload: bytes,
    *,
    orders: str | None,
    db: str | None,
    timeout: float,
) -> tuple[str, bytes] | None:
    """Ask the decider for ``orders`` and ``db`` to do ``kind`` of work on ``payload``.

    The reply is ``(meta, text)``; ``None`` when warm deciders are off, none is running (one
    is started for the next call), or the reply is not one. ``TimeoutError`` when the decider
    took longer than ``timeout`` seconds in all: it is stopped, so the next call starts
    another, and the caller's time is spent."""
    if not enabled():
        return None
    wanted = key(orders, db)
    path = socket_path(wanted)
    if path is None:
        return None
    request = frame(kind.encode(), wanted, repr(args).encode(), payload)
    deadline = time.monotonic() + timeout
    global asking
    asking = path
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            conn.settimeout(timeout)
            conn.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            _start(path, orders, db)
            return None
        except OSError:  # a full backlog, a socket that is not one: work in process
            return None
        try:
            conn.sendall(request)
            conn.shutdown(_socket.SHUT_WR)
            answer = read_all(conn, deadline)
        except TimeoutError:
            _stop_hung(path)
            raise
        except OSError:
            return None
    finally:
        asking = None
        conn.close()
    try:
        status, meta, text = unframe(answer)
    except ValueError:
        return None
    return (meta.decode(), text) if status == b"ok" else None


def read_all(conn: _socket.socket, deadline: float | None = None) -> bytes:
    """Everything the peer sends until it shuts its side, at most :data:`MAX_MESSAGE`, by
    ``deadline`` (:func:`time.monotonic`) if given, else ``TimeoutError``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            conn.settimeout(left)
        chunk = conn.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_MESSAGE:
            raise OSError("message too large")
        chunks.append(chunk)


def holder(path: str) -> int | None:
    """The process id of the decider listening at ``path``, if one holds its lock."""
    import fcntl

    try:
        with open(f"{path}.lock") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the pid written in it is the holder's
                text = lock.read().strip()
                return int(text) if text.isdigit() else None
    except OSError:
        return None
    return None


#: The socket of the decider being asked right now, if any: a hook whose budget runs out
#: meanwhile stops it (:func:`stop_asked`).
asking: str | None = None


def stop_asked() -> None:
    """Stop the decider being asked, which has not answered in the caller's time."""
    if asking is not None:
        _stop_hung(asking)


def _stop_hung(path: str) -> None:
    """Kill a decider that did not answer in time: the next call starts another."""
    pid = holder(path)
    if pid is not None and pid != os.getpid():
        try:
            os.kill(pid, 9)
        except OSError:
            return


#: Seconds between attempts to start a decider for one key: one that dies at start (a
#: setting it cannot use) is not started again on every call.
RESTART_AFTER = 10.0


#: The most deciders one user keeps: starting another stops the one asked least recently.
MOST = 8


def _make_room(place: str) -> None:
    """Stop the least recently asked deciders in ``place`` beyond :data:`MOST` - 1, and
    forget the files of those long gone."""
    import contextlib  # here: only a door that starts a decider pays for it

    try:
        names = os.listdir(place)
    except OSError:
        return
    running = []
    for name in names:
        if not name.endswith(".sock.lock"):
            continue
        lock = os.path.join(place, name)
        pid = holder(lock[: -len(".lock")])
        try:
            used = os.stat(lock).st_mtime  # each decider touches it on every request
        except OSError:
            continue
        if pid is not None:
            running.append((used, pid))
        elif time.time() - used > 86400:  # nobody holds it, for a day: its decider is gone
            for stale in (lock, lock[: -len(".lock")] + ".started"):
                with contextlib.suppress(OSError):
                    os.unlink(stale)
    for _, pid in sorted(running)[: max(0, len(running) - MOST + 1)]:
        with contextlib.suppress(OSError):
            os.kill(pid, 15)


def _start(path: str, orders: str | None, db: str | None) -> None:
    """Start a decider for the next call, detached (a double fork: no door waits for it, and
    a hook killed at its budget leaves it running), its output nowhere; never an error."""
    marker = f"{path}.started"
    try:
        if time.time() - os.stat(marker).st_mtime < RESTART_AFTER:
            return
    except OSError:
        pass
    _make_room(os.path.dirname(path))
    where = os.path.abspath(orders) if orders else ""
    # -P: not the working directory first on the module path. It is the agent's to write,
    # and a ./watchkeeper/ there would be imported in place of the decider.
    argv = [sys.executable, "-P", "-m", "watchkeeper.doors.decider", path, where, db or ""]
    try:
        with open(marker, "w"):
            pass
        child = os.fork()
    except OSError:
        return
    if child == 0:  # pragma: no cover - measured from outside by the tests
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv(sys.executable, argv)
        finally:
            os._exit(0)
    try:
        os.waitpid(child, 0)
    except OSError:
        return

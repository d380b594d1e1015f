"""Signed checkpoints: C2SP ``tlog-checkpoint`` notes signed as C2SP ``signed-note``, Ed25519.

A checkpoint names the log (its *origin*), the tree size and the root hash::

    watchkeeper.example/audit
    1042
    qT0hIf6w6ObWdD0vQa6p7V3J3mVb1G0Lh0wJc3o2i1s=

    — watchkeeper.example/audit Az3grlgt…base64(key id ‖ signature)…

The signature covers the three lines (each ending in a newline). The key id is the first four
bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key); the verifier key is published as
``name+hexkeyid+base64(0x01 ‖ public key)``. With that string and a note, anyone can check a
checkpoint, and with a proof from ``audit prove``, that an event is in it, offline.

The private key lives in a file outside the database (mode 0600), created on first use.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from watchkeeper.errors import UsageError

DEFAULT_KEY = ".watchkeeper/audit.key"
DEFAULT_ORIGIN = "watchkeeper/audit"
_ED25519 = b"\x01"
#: What a seal signs before the event: a seal can never pass for a checkpoint's signature.
_SEAL = b"watchkeeper event seal\n"
_DASH = "\u2014 "  # an em dash and a space start each signature line


class CheckpointError(UsageError):
    """A note that cannot be read or does not verify; the message says which and why."""


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id signed-note defines for an Ed25519 key."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint text that is signed."""
    if not origin or "\n" in origin:
        raise CheckpointError(f"the origin {origin!r} must be one non-empty line")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint note."""

    origin: str
    size: int
    root: bytes
    text: str  # the signed body
    signatures: tuple[tuple[str, bytes], ...]  # (key name, key id ‖ signature)


def parse(note: str) -> Checkpoint:
    """Read a signed checkpoint note; raise :class:`CheckpointError` naming what is wrong."""
    head, sep, tail = note.rpartition("\n\n")  # signatures follow the last blank line
    if not sep:
        raise CheckpointError("a signed note needs its text, a blank line, then signatures")
    text = head + "\n"
    lines = head.split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint needs an origin, a tree size and a root hash line")
    origin, size_line, root_line = lines[:3]
    if not (size_line.isascii() and size_line.isdigit()) or (
        size_line != "0" and size_line.startswith("0")
    ):
        raise CheckpointError(f"tree size {size_line!r} is not a decimal number")
    try:
        root = base64.b64decode(root_line, validate=True)
    except ValueError:
        raise CheckpointError(f"root hash {root_line!r} is not base64") from None
    if len(root) != 32:
        raise CheckpointError(f"root hash is {len(root)} bytes, not 32")
    signatures = []
    for line in tail.split("\n"):
        if not line:
            continue
        if not line.startswith(_DASH):
            raise CheckpointError(f"signature line {line!r} does not start with '— '")
        name, _, blob = line[len(_DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise CheckpointError(f"signature of {name!r} is not base64") from None
        if len(raw) < 5:
            raise CheckpointError(f"signature of {name!r} is too short")
        signatures.append((name, raw))
    if not signatures:
        raise CheckpointError("the note carries no signature")
    return Checkpoint(origin, int(size_line), root, text, tuple(signatures))


@dataclass(frozen=True)
class Verifier:
    """A public key, as ``name+hexkeyid+base64(0x01 ‖ key)``, that checks notes."""

    name: str
    public: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may hold "+"; names may not
        if len(parts) != 3:
            raise CheckpointError(
                f"verifier key {text!r} is not name+hexkeyid+base64key (as `audit key` prints)"
            )
        name, hex_id, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
            wanted = bytes.fromhex(hex_id)
        except ValueError:
            raise CheckpointError(f"verifier key {text!r} has a bad key id or key") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise CheckpointError("verifier key is not an Ed25519 key (0x01 and 32 bytes)")
        if key_id(name, raw[1:]) != wanted:
            raise CheckpointError("verifier key id does not match its name and key")
        return cls(name, raw[1:])

    def __str__(self) -> str:
        blob = base64.b64encode(_ED25519 + self.public).decode()
        return f"{self.name}+{key_id(self.name, self.public).hex()}+{blob}"

    def verify(self, note: str) -> Checkpoint:
        """The checkpoint, if this key signed it; else :class:`CheckpointError`."""
        checkpoint = parse(note)
        kid = key_id(self.name, self.public)
        for name, raw in checkpoint.signatures:
            if name == self.name and raw[:4] == kid:
                try:
                    Ed25519PublicKey.from_public_bytes(self.public).verify(
                        raw[4:], checkpoint.text.encode()
                    )
                except InvalidSignature:
                    raise CheckpointError(f"the signature of {name!r} does not verify") from None
                return checkpoint
        raise CheckpointError(f"the note carries no signature by {self.name!r}")

    def sealed(self, data: bytes, seal: object) -> bool:
        """Whether ``seal`` is this key's seal on ``data`` (see :meth:`Signer.seal`)."""
        if not isinstance(seal, str):
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                base64.b64decode(seal, validate=True), _SEAL + data
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def check(self, note: str, size: int, root: bytes) -> str | None:
        """Why ``note`` is not a valid checkpoint of ``size`` and ``root``, or ``None``."""
        try:
            checkpoint = self.verify(note)
        except CheckpointError as exc:
            return str(exc)
        if (checkpoint.size, checkpoint.root) != (size, root):
            return "the note's size and root are not the ones stored beside it"
        return None


class Signer:
    """The log's private key: signs checkpoints; ``verifier`` is what to publish."""

    def __init__(self, name: str, private: Ed25519PrivateKey, path: Path | None = None) -> None:
        self.name = name
        self._private = private
        #: Where the newest signed note is kept, beside the key and outside the database: a log
        #: rewritten in the database (checkpoints and all) no longer matches it.
        self.pinned = path.with_name(path.name + ".last") if path is not None else None
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = Verifier(name, public)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_KEY, name: str = DEFAULT_ORIGIN) -> Signer:
        """The key in ``path``, created (mode 0600) when there is none."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # Written whole to a private file, then linked into place: two processes creating
            # it at once keep one key, and no one ever reads half a key.
            draft = path.with_name(f".{path.name}.{os.getpid()}.{id(key)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(draft, path)
            except FileExistsError:
                return cls.load(path, name)
            finally:
                draft.unlink()
            return cls(name, key, path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise CheckpointError(
                f"the audit key {path} is readable by others (mode {mode:o}); "
                f"run `chmod 600 {path}`"
            )
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise CheckpointError(f"the audit key {path} cannot be read: {exc}") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise CheckpointError(f"the audit key {path} is not an Ed25519 key")
        return cls(name, loaded, path)

    def seal(self, data: bytes) -> str:
        """A seal on ``data`` (an event's canonical JSON): what someone with the database but
        not this key cannot make, so events it seals cannot be forged beside the log."""
        return base64.b64encode(self._private.sign(_SEAL + data)).decode()

    def sign(self, origin: str, size: int, root: bytes) -> str:
        """A signed checkpoint note."""
        text = body(origin, size, root)
        signature = self._private.sign(text.encode())
        blob = base64.b64encode(key_id(self.name, self.verifier.public) + signature).decode()
        return f"{text}\n{_DASH}{self.name} {blob}\n"


def pin(path: Path, note: str) -> None:
    """Keep ``note`` as the newest signed checkpoint at ``path`` (written whole, mode 0600)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(note)
        out.flush()
        os.fsync(out.fileno())
    os.replace(draft, path)


def pinned(signer: Signer) -> str | None:
    """The newest note this signer kept outside the database, if any."""
    if signer.pinned is None or not signer.pinned.exists():
        return None
    return signer.pinned.read_text(encoding="utf-8")

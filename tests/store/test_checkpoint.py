"""Signed notes: every way a note or a key can be wrong is refused, by name."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from watchkeeper.store.checkpoint import CheckpointError, Signer, Verifier, body, key_id, parse

ROOT = bytes(range(32))


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(tmp_path / "k", "example.org/log")


def test_a_note_round_trips(signer: Signer) -> None:
    note = signer.sign("example.org/log", 5, ROOT)
    checkpoint = Verifier.parse(str(signer.verifier)).verify(note)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == ("example.org/log", 5, ROOT)
    assert checkpoint.text == body("example.org/log", 5, ROOT)
    assert key_id("example.org/log", signer.verifier.public) == bytes.fromhex(
        str(signer.verifier).split("+")[1]
    )


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("example.org/log\n5\n", "blank line"),
        ("example.org/log\n5\n\n— x AAAA\n", "an origin, a tree size and a root"),
        ("o\nfive\n" + base64.b64encode(ROOT).decode() + "\n\n— o AAAAAAAA\n", "not a decimal"),
        ("o\n05\n" + base64.b64encode(ROOT).decode() + "\n\n— o AAAAAAAA\n", "not a decimal"),
        ("o\n5\n!!!\n\n— o AAAAAAAA\n", "not base64"),
        ("o\n5\n" + base64.b64encode(b"short").decode() + "\n\n— o AAAAAAAA\n", "not 32"),
        ("o\n5\n" + base64.b64encode(ROOT).decode() + "\n\nno dash here\n", "does not start"),
        ("o\n5\n" + base64.b64encode(ROOT).decode() + "\n\n— o !!!\n", "not base64"),
        ("o\n5\n" + base64.b64encode(ROOT).decode() + "\n\n— o AAAA\n", "too short"),
        ("o\n5\n" + base64.b64encode(ROOT).decode() + "\n\n\n", "no signature"),
    ],
)
def test_bad_notes_are_refused_naming_the_fault(note: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse(note)


def test_signatures_are_checked(signer: Signer, tmp_path: Path) -> None:
    note = signer.sign("example.org/log", 5, ROOT)
    verifier = signer.verifier
    other = Signer.load(tmp_path / "other", "example.org/log").verifier
    with pytest.raises(CheckpointError, match="no signature by"):
        Verifier("someone.else", verifier.public).verify(note)
    with pytest.raises(CheckpointError, match="no signature by"):
        other.verify(note)  # same name, another key: another key id
    bent = note.replace("\n5\n", "\n6\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        verifier.verify(bent)
    assert verifier.check(note, 5, ROOT) is None
    assert "not the ones stored" in (verifier.check(note, 6, ROOT) or "")
    assert "does not verify" in (verifier.check(bent, 6, ROOT) or "")
    with pytest.raises(CheckpointError, match="one non-empty line"):
        signer.sign("two\nlines", 1, ROOT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no-plus-signs", "name\\+hexkeyid"),
        ("n+zz+AAAA", "bad key id"),
        ("n+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode(), "not an Ed25519"),
        ("n+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(), "does not match"),
    ],
)
def test_bad_verifier_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        Verifier.parse(text)


def test_a_key_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a key")
    garbage.chmod(0o600)
    with pytest.raises(CheckpointError, match="cannot be read"):
        Signer.load(garbage)
    ec = tmp_path / "ec"
    ec.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ec.chmod(0o600)
    with pytest.raises(CheckpointError, match="not an Ed25519"):
        Signer.load(ec)


def test_two_processes_creating_the_key_keep_one(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "k"
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(str(Signer.load(path).verifier)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert os.stat(path).st_mode & 0o777 == 0o600

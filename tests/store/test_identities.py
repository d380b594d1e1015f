"""Agents, people and tokens: secrets shown once, stored hashed, each mapping to one identity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from watchkeeper.cli import app
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities, IdentityError
from watchkeeper.store.schema import agents, user_tokens, users


def test_agent_keys_are_long_random_and_stored_hashed(store: Store) -> None:
    ids = Identities(store)
    key = ids.add_agent("infra-bot")
    other = ids.add_agent("support-bot")
    assert key.startswith("wk_agent_")
    assert len(key) - len("wk_agent_") >= 43  # 256 bits, base64url
    assert key != other
    assert ids.agent_for(key) == "infra-bot"
    assert ids.agent_for(other) == "support-bot"
    assert ids.agent_for(key + "x") is None
    with store.reading() as conn:
        stored = [bytes(r[0]) for r in conn.execute(select(agents.c.key_hash))]
    assert hashlib.sha256(key.encode()).digest() in stored
    assert all(key.encode() not in h for h in stored)
    with pytest.raises(IdentityError, match="already exists"):
        ids.add_agent("infra-bot")
    with pytest.raises(IdentityError, match="cannot be used"):
        ids.add_agent("bad name")


def test_people_passwords_and_tokens(store: Store) -> None:
    ids = Identities(store)
    generated = ids.add_user("Alice@Example.com", role="approver", groups=["sre", "sre"])
    assert generated is not None
    assert len(generated) >= 20
    assert ids.check_password("alice@example.com", generated) is not None
    assert ids.check_password("alice@example.com", generated + "x") is None
    assert ids.check_password("nobody@example.com", generated) is None
    assert ids.add_user("bob@example.com", groups=[], password="a long passphrase") is None
    token = ids.issue_token("alice@example.com")
    user = ids.user_for(token)
    assert user is not None
    assert (user.email, user.role, user.groups) == ("alice@example.com", "approver", ("sre",))
    assert ids.user_for("wk_user_nope") is None
    with store.reading() as conn:
        row = conn.execute(select(users.c.password_hash)).first()
        hashes = [bytes(r[0]) for r in conn.execute(select(user_tokens.c.token_hash))]
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert hashes == [hashlib.sha256(token.encode()).digest()]
    for bad, message in (
        ({"email": "not-an-address"}, "not an address"),
        ({"email": "c@example.com", "role": "root"}, "not one of"),
        ({"email": "c@example.com", "groups": ["no spaces"]}, "cannot be used"),
        ({"email": "c@example.com", "password": "short"}, "shorter than 12"),
    ):
        with pytest.raises(IdentityError, match=message):
            ids.add_user(**{"groups": [], **bad})  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="no user"):
        ids.issue_token("nobody@example.com")


def test_every_identity_change_is_audited_without_its_secret(store: Store) -> None:
    ids = Identities(store)
    key = ids.add_agent("infra-bot")
    password = ids.add_user("alice@example.com", groups=["sre"])
    token = ids.issue_token("alice@example.com")
    events = [json.loads(leaf.event) for leaf in AuditLog(store).leaves()]
    assert [e["kind"] for e in events] == ["agent_added", "user_added", "token_issued"]
    text = json.dumps(events)
    for secret in (key, password, token):
        assert secret is not None
        assert secret not in text


def test_the_commands(tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'db'}"}
    runner = CliRunner()
    added = runner.invoke(app, ["agents", "add", "infra-bot"], env=env)
    assert added.exit_code == 0
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("wk_agent_")
    again = runner.invoke(app, ["agents", "add", "infra-bot"], env=env)
    assert again.exit_code == 2
    user = runner.invoke(app, ["users", "add", "alice@example.com", "-g", "sre"], env=env)
    assert user.exit_code == 0  # stdin is not a terminal: a one-time password is printed
    password = user.stdout.strip().splitlines()[-1]
    piped = runner.invoke(
        app, ["users", "add", "bob@example.com", "--password-stdin"], env=env,
        input="a long passphrase\n",
    )  # fmt: skip
    assert piped.exit_code == 0
    token = runner.invoke(app, ["users", "token", "alice@example.com"], env=env)
    assert token.exit_code == 0
    store = Store.open(env["WATCHKEEPER_DB"])
    try:
        ids = Identities(store)
        assert ids.agent_for(key) == "infra-bot"
        assert ids.check_password("alice@example.com", password) is not None
        assert ids.check_password("bob@example.com", "a long passphrase") is not None
        assert ids.user_for(token.stdout.strip().splitlines()[-1]) is not None
    finally:
        store.close()
    bad = runner.invoke(app, ["users", "token", "carol@example.com"], env=env)
    assert bad.exit_code == 2


def test_timeout_never_approves(store: Store) -> None:
    from watchkeeper.decision import ApprovalRequirement
    from watchkeeper.errors import ApprovalError
    from watchkeeper.server.errors import STATUS
    from watchkeeper.store.approvals import Approvals

    ids = Identities(store)
    ids.add_user("alice@example.com", groups=["sre"], password="x" * 16)
    alice = ids.check_password("alice@example.com", "x" * 16)
    assert alice is not None
    approvals = Approvals(store, {})
    with store.writing() as conn:
        late = approvals.create_in(
            conn, 0, "infra-bot", "sha256:d", [ApprovalRequirement(rule="r", timeout_seconds=0)]
        )
        fresh = approvals.create_in(
            conn, 0, "infra-bot", "sha256:e", [ApprovalRequirement(rule="r", timeout_seconds=600)]
        )
    with pytest.raises(ApprovalError, match="expired") as voted:
        approvals.vote(late, alice, "approve")
    assert STATUS[voted.value.code] == 409
    with pytest.raises(ApprovalError) as consumed:
        approvals.consume(late, "infra-bot", "sha256:d")
    assert STATUS[consumed.value.code] == 410
    view = approvals.get(late)
    assert view is not None
    assert view["state"] == "expired"
    kinds = [json.loads(leaf.event)["kind"] for leaf in AuditLog(store).leaves()]
    assert kinds.count("approval_expired") == 1  # expired once, recorded once
    assert approvals.vote(fresh, alice, "approve")["state"] == "approved"


def test_revoking_an_agent_stops_its_key_and_is_audited(tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'db'}"}
    runner = CliRunner()
    key = runner.invoke(app, ["agents", "add", "infra-bot"], env=env).stdout.strip()
    assert runner.invoke(app, ["agents", "add", "ci-bot"], env=env).exit_code == 0
    revoked = runner.invoke(app, ["agents", "revoke", "infra-bot"], env=env)
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(app, ["agents", "list"], env=env).stdout.splitlines()
    assert listed[0] == "ci-bot\tactive"
    assert listed[1].startswith("infra-bot\trevoked ")
    again = runner.invoke(app, ["agents", "revoke", "infra-bot"], env=env)
    assert again.exit_code == 2
    assert "already revoked" in again.output
    unknown = runner.invoke(app, ["agents", "revoke", "nobody"], env=env)
    assert unknown.exit_code == 2
    assert "there is no agent 'nobody'" in unknown.output
    store = Store.open(env["WATCHKEEPER_DB"])
    try:
        assert Identities(store).agent_for(key.splitlines()[-1]) is None
        kinds = [json.loads(leaf.event)["kind"] for leaf in AuditLog(store).leaves()]
        assert kinds.count("agent_revoked") == 1
        with pytest.raises(IdentityError, match="already exists"):  # the name stays taken
            Identities(store).add_agent("infra-bot")
    finally:
        store.close()

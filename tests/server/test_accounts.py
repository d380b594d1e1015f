"""People's accounts and pauses from the CLI: disable, revoke and expire tokens (at once, on
every replica), list pauses, and answer approvals by any unique prefix of their id."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.server.conftest import Served, serving
from tests.server.test_approvals import ask, people, vote
from tests.server.test_cli_approvals import cli
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities
from watchkeeper.store.vouch import cross_check

#: These talk to the server as other processes do: over a socket.
pytestmark = pytest.mark.socket


def sees(base: str, token: str) -> int:
    return httpx.get(base + "/v1/pause", headers={"Authorization": f"Bearer {token}"},
                     timeout=10).status_code  # fmt: skip


def test_disabling_and_revoking_take_effect_at_once_on_every_replica(
    store_url: str, tmp_path: Path
) -> None:
    first, second = Store.open(store_url), Store.open(store_url)
    ids = Identities(first)
    ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
    ids.add_user("bob@example.com", role="approver", groups=[], password="x" * 16)
    alice, bob = ids.issue_token("alice@example.com"), ids.issue_token("bob@example.com")
    settings = Settings(audit_key=str(tmp_path / "k"))
    try:
        with contextlib.ExitStack() as stack:
            bases = [stack.enter_context(serving(s, settings)) for s in (first, second)]
            assert [sees(b, alice) for b in bases] == [200, 200]
            ids.disable_user("alice@example.com")
            assert [sees(b, alice) for b in bases] == [401, 401]
            assert ids.revoke_tokens("bob@example.com") == 1
            assert [sees(b, bob) for b in bases] == [401, 401]
            ids.enable_user("alice@example.com")
            assert [sees(b, alice) for b in bases] == [200, 200]  # her token was not revoked
        assert cross_check(first) == []  # each change is an event the rows agree with
    finally:
        first.close()
        second.close()


def test_a_token_past_its_expiry_is_refused(served: Served) -> None:
    ids = Identities(served.store)
    ids.add_user("carol@example.com", role="approver", groups=[], password="x" * 16)
    short = ids.issue_token("carol@example.com", expires_in=1.0)
    assert sees(served.base, short) == 200
    time.sleep(1.3)
    assert sees(served.base, short) == 401
    listed = {u["email"]: u for u in ids.users()}
    assert listed["carol@example.com"]["tokens"] == 0  # an expired token does not count


def test_a_disabled_persons_vote_is_refused(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    approval = ask(served)["approval_id"]
    Identities(served.store).disable_user("bob@example.com")
    assert vote(served, bob, approval, "approve").status_code == 401


def test_the_account_commands(tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'db'}", "WATCHKEEPER_TOKEN_EXPIRES": "30d"}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.output

    assert run("users", "add", "alice@example.com")[0] == 0
    code, out = run("users", "token", "alice@example.com")
    assert code == 0, out
    assert "expires in 30 days" in out
    assert "expires in 12 h" in run("users", "token", "alice@example.com", "--expires", "12h")[1]
    assert "never expires" in run("users", "token", "alice@example.com", "--expires", "never")[1]
    code, out = run("users", "token", "alice@example.com", "--expires", "5x")
    assert code == 2
    assert "--expires '5x' is not a duration; write it like 90d, 12h or 30m, or never" in out
    code, out = run("users", "list")
    assert "alice@example.com\tapprover\tgroups: -\t3 tokens\tactive" in out, out
    code, out = run("users", "token", "alice@example.com", "--revoke")
    assert (code, out.strip()) == (0, "revoked 3 tokens of alice@example.com")
    assert run("users", "disable", "alice@example.com")[0] == 0
    code, out = run("users", "disable", "alice@example.com")
    assert (code, out.strip()) == (2, "user 'alice@example.com' is already disabled")
    listed = runner.invoke(app, ["users", "list", "--json"], env=env)
    (alice,) = json.loads(listed.stdout)["users"]
    assert alice["disabled_at"] is not None
    assert alice["tokens"] == 0
    code, out = run("users", "token", "alice@example.com")
    assert code == 2
    assert "disabled" in out
    assert run("users", "enable", "alice@example.com")[0] == 0
    code, out = run("users", "disable", "nobody@example.com")
    assert code == 2
    assert "there is no user 'nobody@example.com'" in out
    bad = runner.invoke(app, ["users", "token", "alice@example.com"],
                        env={**env, "WATCHKEEPER_TOKEN_EXPIRES": "soon"})  # fmt: skip
    assert bad.exit_code == 2
    assert "WATCHKEEPER_TOKEN_EXPIRES='soon' cannot be used" in bad.output


def test_approvals_by_prefix_with_whole_ids_and_quorum_progress(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    approval = ask(served)["approval_id"]
    vote(served, served.approver, approval, "approve")
    code, out, _ = cli(served, served.approver, "approvals", "list")
    assert code == 0
    assert approval in out  # whole, on one line
    assert "1 of 2: any approver" in out
    code, out, err = cli(served, bob, "approvals", "approve", approval[:6], "-m", "checked")
    assert code == 0, err
    assert "approved" in out
    code, _, err = cli(served, bob, "approvals", "show", "zz")
    assert code == 1
    assert "no approval id starts with 'zz'" in err
    code, _, err = cli(served, bob, "approvals", "approve", approval, "--message", "x")
    assert code == 2
    assert "use --comment (or -m)" in err


def test_an_ambiguous_prefix_names_the_candidates(served: Served) -> None:
    ids = [ask(served, f"rm -rf /srv/n{n}")["approval_id"] for n in range(40)]
    first = {i[0] for i in ids}
    shared = next(c for c in sorted(first) if sum(i.startswith(c) for i in ids) > 1)
    code, _, err = cli(served, served.approver, "approvals", "show", shared)
    assert code == 2
    assert f"{shared!r} is the start of" in err
    assert "give more of it" in err


def test_pause_list_and_resume_by_prefix(served: Served) -> None:
    code, out, _ = cli(served, served.approver, "pause", "list")
    assert (code, out.strip()) == (0, "no pauses in force")
    code, out, _ = cli(served, served.approver, "pause", "--agent", "infra-bot", "--reason",
                       "runaway loop", "--json")  # fmt: skip
    pause_id = json.loads(out)["id"]
    code, out, _ = cli(served, served.approver, "pause", "list")
    assert code == 0
    assert pause_id in out
    assert "agent infra-bot" in out
    assert "runaway loop" in out
    code, _, err = cli(served, served.approver, "pause")
    assert code == 2
    assert "--reason is required" in err
    code, out, err = cli(served, served.approver, "resume", pause_id[:5], "--reason", "fixed")
    assert code == 0, err
    assert "lifted by alice@example.com" in out
    code, out, _ = cli(served, served.approver, "pause", "list", "--all")
    assert "by alice@example.com: fixed" in out

"""State the log does not vouch for: a grant is released only when the audit log's own events
say the approval was approved, and ``audit verify`` reports every row that disagrees with them.
An insider here is someone with write access to the database and nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.server.conftest import Served
from tests.server.test_approvals import ask, people, vote
from tests.server.test_pauses import pause, resume
from watchkeeper.cli import app
from watchkeeper.store.identities import Identities
from watchkeeper.store.vouch import cross_check


def insider(served: Served, *statements: str, **params: object) -> None:
    with served.store.writing() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def consume(served: Served, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    answer = served.post(f"/v1/approvals/{body['approval_id']}/consume", served.agent_key,
                         json={"digest": body["digest"]})  # fmt: skip
    return answer.status_code, answer.json()


def test_an_approval_set_approved_in_the_database_releases_nothing(served: Served) -> None:
    body = ask(served)
    insider(served, "UPDATE approvals SET state = 'approved', expires_at = expires_at + 600 "
                    "WHERE id = :a", a=body["approval_id"])  # fmt: skip
    status, answer = consume(served, body)
    assert status == 409, answer
    error = answer["error"]
    assert error["code"] == "unvouched"
    assert "the audit log does not show approval" in error["message"]
    assert "its events say pending" in error["message"]
    found = cross_check(served.store)
    assert f"approval {body['approval_id']}: its row says approved, the log says pending" in found
    result = CliRunner().invoke(app, ["audit", "verify"],
                                env={"WATCHKEEPER_DB": served.store.url})  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "FAILED: the database's state disagrees with the audit log in 1 place" in result.output
    assert f"  - approval {body['approval_id']}: its row says approved" in result.output


def test_votes_slipped_in_beside_the_log_release_nothing(served: Served) -> None:
    bob, carol = people(served, "bob@example.com", "carol@example.com")
    body = ask(served)
    approval = body["approval_id"]
    insider(
        served,
        "INSERT INTO votes (approval_id, email, vote, comment, break_glass) VALUES "
        "(:a, 'bob@example.com', 'approve', '', false), "
        "(:a, 'carol@example.com', 'approve', '', false)",
        "UPDATE approvals SET state = 'approved' WHERE id = :a",
        a=approval,
    )
    status, answer = consume(served, body)
    assert (status, answer["error"]["code"]) == (409, "unvouched")
    found = cross_check(served.store)
    assert f"vote of bob@example.com on approval {approval}: its row says approve, the log says " \
           "no vote" in found  # fmt: skip
    # Real votes, cast through the server, are what the release is judged by.
    insider(served, "DELETE FROM votes WHERE approval_id = :a",
            "UPDATE approvals SET state = 'pending' WHERE id = :a", a=approval)  # fmt: skip
    assert vote(served, bob, approval, "approve").status_code == 200
    assert vote(served, carol, approval, "approve").json()["state"] == "approved"
    assert consume(served, body)[0] == 200
    assert cross_check(served.store) == []


def test_a_released_grant_cannot_be_released_again_by_clearing_its_row(served: Served) -> None:
    bob, carol = people(served, "bob@example.com", "carol@example.com")
    body = ask(served)
    vote(served, bob, str(body["approval_id"]), "approve")
    vote(served, carol, str(body["approval_id"]), "approve")
    assert consume(served, body)[0] == 200
    insider(served, "UPDATE approvals SET consumed_at = NULL WHERE id = :a", a=body["approval_id"])
    status, answer = consume(served, body)
    assert (status, answer["error"]["code"]) == (409, "unvouched")
    assert "already released" in answer["error"]["message"]


def _key(served: Served) -> None:
    forged = hashlib.sha256(b"wk_agent_the-insiders-own").digest()
    with served.store.writing() as conn:
        conn.execute(
            text("UPDATE agents SET key_hash = :k WHERE name = 'infra-bot'"), {"k": forged}
        )


def _token(served: Served) -> None:
    forged = hashlib.sha256(b"wk_user_the-insiders-own").digest()
    with served.store.writing() as conn:
        conn.execute(text("INSERT INTO user_tokens (token_hash, email) VALUES "
                          "(:k, 'alice@example.com')"), {"k": forged})  # fmt: skip


CHANGES: dict[str, tuple[Callable[[Served], None], str]] = {
    "lift-a-pause": (
        lambda s: insider(s, "UPDATE pauses SET resumed_at = CURRENT_TIMESTAMP"),
        "its row says resumed, the log says in force",
    ),
    "delete-a-pause": (lambda s: insider(s, "DELETE FROM pauses"), "its row is gone"),
    "make-an-admin": (
        lambda s: insider(s, "UPDATE users SET role = 'admin' WHERE email = 'alice@example.com'"),
        "user alice@example.com: its row gives the role admin, the log approver",
    ),
    "enable-a-revoked-agent": (
        lambda s: insider(s, "UPDATE agents SET revoked_at = NULL"),
        "agent old-bot: its row says active, the log says revoked",
    ),
    "swap-an-agent-key": (_key, "agent infra-bot: its key is not the one the log recorded"),
    "slip-in-a-token": (_token, "a token of alice@example.com that no token_issued event"),
    "add-an-agent": (
        lambda s: insider(
            s, "INSERT INTO agents (name, key_hash) VALUES ('ghost', :k)", k=b"\x01" * 32
        ),
        "agent ghost: a row with no agent_added event in the log",
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_verify_reports_rows_changed_behind_the_log(served: Served, change: str) -> None:
    ids = Identities(served.store)
    ids.add_agent("old-bot")
    ids.revoke_agent("old-bot")
    paused = pause(served, served.approver, scope="agent", target="old-bot", reason="drill")
    assert paused.status_code == 200
    other = pause(served, served.approver, scope="agent", target="infra-bot", reason="x")
    assert resume(served, served.approver, other.json()["id"], "done").status_code == 200
    assert cross_check(served.store) == []  # what watchkeeper itself did agrees with the log
    make, expected = CHANGES[change]
    make(served)
    found = cross_check(served.store)
    assert any(expected in line for line in found), found


def test_vote_events_forged_beside_the_log_release_nothing(served: Served) -> None:
    # An insider with the database, not the server's key, appends votes as the server would.
    from watchkeeper.store.audit import AuditLog
    from watchkeeper.store.schema import approvals, votes

    people(served, "bob@example.com", "carol@example.com")
    body = ask(served)
    approval = str(body["approval_id"])
    log = AuditLog(served.store)
    with served.store.writing() as conn:
        log.lock(conn)
        for email, state in (("bob@example.com", "pending"), ("carol@example.com", "approved")):
            log.append_in(conn, [{"kind": "vote", "approval": approval, "email": email,
                                  "role": "approver", "vote": "approve", "comment": "lgtm",
                                  "break_glass": False, "state": state}])  # fmt: skip
            row = {"approval_id": approval, "email": email, "vote": "approve", "comment": "",
                   "break_glass": False}  # fmt: skip
            conn.execute(votes.insert().values(**row))
        conn.execute(approvals.update().where(approvals.c.id == approval).values(state="approved"))
    status, answer = consume(served, body)
    assert (status, answer["error"]["code"]) == (409, "unvouched"), answer


def test_a_role_raised_in_the_database_does_not_turn_a_vote_into_break_glass(
    served: Served,
) -> None:
    body = ask(served)
    approval = str(body["approval_id"])
    # alice is an approver: her vote counts as one ordinary approval of two.
    voted = vote(served, served.approver, approval, "approve", comment="urgent")
    assert voted.json()["state"] == "pending"
    insider(served, "UPDATE users SET role = 'admin' WHERE email = 'alice@example.com'",
            "UPDATE approvals SET state = 'approved' WHERE id = :a", a=approval)  # fmt: skip
    status, answer = consume(served, body)
    assert (status, answer["error"]["code"]) == (409, "unvouched"), answer


def test_a_release_hidden_from_the_index_is_reported(served: Served) -> None:
    from tests.store.test_audit import tamper

    bob, carol = people(served, "bob@example.com", "carol@example.com")
    body = ask(served)
    approval = str(body["approval_id"])
    vote(served, bob, approval, "approve")
    vote(served, carol, approval, "approve")
    assert consume(served, body)[0] == 200
    # The index is append-only, like the log: only someone who turns that off gets further.
    with pytest.raises(Exception, match="watchkeeper"), served.store.writing() as conn:
        conn.execute(text("DELETE FROM audit_refs"))
    released = "(SELECT max(idx) FROM audit_leaves WHERE kind = 'grant_consumed')"
    tamper(served.store,
           f"DELETE FROM audit_refs WHERE subject = 'approval:{approval}' AND idx = {released}",
           f"UPDATE approvals SET consumed_at = NULL WHERE id = '{approval}'")  # fmt: skip
    assert consume(served, body)[0] == 200  # what only the database knew could be undone…
    found = cross_check(served.store)  # …and the log says so
    assert f"approval {approval}: its grant was released twice (two grant_consumed events)" \
        in found  # fmt: skip
    assert any(line.startswith("audit_refs lacks event") for line in found), found

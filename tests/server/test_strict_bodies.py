"""Bodies two parsers could read differently are refused over HTTP, on both stores."""

from __future__ import annotations

import pytest

from tests.server.conftest import Served

DUPLICATED = {
    "command": b'{"tool": "shell", "environment": "prod",'
    b' "input": {"command": "rm -rf /srv/prod/db", "command": "ls"}}',
    "environment": b'{"tool": "shell", "environment": "prod", "environment": "dev",'
    b' "input": {"command": "rm -rf /srv/data"}}',
    "tool": b'{"tool": "shell", "tool": "lookup_order", "environment": "prod",'
    b' "input": {"command": "rm -rf /srv/data"}}',
}


@pytest.mark.parametrize("key", sorted(DUPLICATED))
def test_a_key_sent_twice_is_refused_not_decided_on_its_last_copy(served: Served, key: str) -> None:
    size = served.get("/v1/audit", served.auditor).json()["size"]
    answer = served.post("/v1/actions", served.agent_key, content=DUPLICATED[key])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_json"
    assert f"duplicate key {key!r}" in error["message"]
    assert "send each key once" in error["message"]
    assert served.get("/v1/audit", served.auditor).json()["size"] == size  # nothing decided


@pytest.mark.parametrize(
    "body",
    [
        b'{"tool": "shell", "input": {"command": "ls", "n": NaN}}',
        b'{"tool": "shell", "input": {"command": "ls", "n": Infinity}}',
        b'{"tool": "shell", "input": {"command": "ls", "n": 1e400}}',
        b'{"tool": "shell", "input": {"command": "ls \\ud800"}}',
        b'{"tool": "shell", "input": {"x": ' + b"[" * 200 + b"]" * 200 + b"}}",
    ],
    ids=["nan", "infinity", "overflow", "lone-surrogate", "too-deep"],
)
def test_actions_that_are_not_plain_json_are_refused(served: Served, body: bytes) -> None:
    answer = served.post("/v1/actions", served.agent_key, content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_json"


def test_a_vote_with_a_duplicated_vote_key_is_refused(served: Served) -> None:
    answer = served.post(
        "/v1/approvals/any/votes", served.approver, content=b'{"vote": "deny", "vote": "approve"}'
    )
    assert answer.status_code == 400
    assert "duplicate key 'vote'" in answer.json()["error"]["message"]


def test_a_nul_in_a_comment_is_refused_not_a_server_error(served: Served) -> None:
    # PostgreSQL text cannot hold NUL: it was a 500 quoting the SQL statement.
    answer = served.post("/v1/approvals/any/votes", served.approver,
                         content=b'{"vote": "deny", "comment": "a\\u0000b"}')  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert "$.comment holds a NUL character" in answer.json()["error"]["message"]

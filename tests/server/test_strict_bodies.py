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


@pytest.mark.parametrize(
    ("method", "path", "key", "body", "field"),
    [
        ("POST", "/v1/pause", "approver", {"scope": "all", "reason": True}, "reason"),
        ("POST", "/v1/pause", "approver", {"scope": "all", "reason": ["x"]}, "reason"),
        (
            "POST",
            "/v1/pause",
            "approver",
            {"scope": "session", "target": {"x": 1}, "reason": "r"},
            "target",
        ),
        ("DELETE", "/v1/pause/any", "approver", {"reason": {"a": 1}}, "reason"),
        (
            "POST",
            "/v1/approvals/any/votes",
            "approver",
            {"vote": "approve", "break_glass": True, "comment": True},
            "comment",
        ),
        ("POST", "/v1/approvals/any/votes", "approver", {"vote": 1}, "vote"),
        ("POST", "/v1/approvals/any/consume", "agent_key", {"digest": 5}, "digest"),
        (
            "POST",
            "/v1/actions/0/outcome",
            "agent_key",
            {"status": "failed", "detail": {"x": 1}},
            "detail",
        ),
    ],
)
def test_a_field_that_must_be_text_is_refused_as_anything_else(
    served: Served, method: str, path: str, key: str, body: dict[str, object], field: str
) -> None:
    # A reason of `true` or `{"a": 1}` used to count as given, recorded as Python's text of it.
    size = served.get("/v1/audit", served.auditor).json()["size"]
    answer = served.request(method, path, getattr(served, key), json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{field} must be a string")
    assert served.get("/v1/audit", served.auditor).json()["size"] == size  # nothing recorded


def test_the_largest_action_id_is_not_found_not_a_server_error(served: Served) -> None:
    for action_id in (2**63 - 1, 2**63, 10**30):
        answer = served.post(f"/v1/actions/{action_id}/outcome", served.agent_key,
                             json={"status": "unknown"})  # fmt: skip
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["error"]["code"] in ("not_found", "invalid_request")


def test_no_page_loads_scripts_and_no_path_is_redirected(served: Served) -> None:
    for path in ("/docs", "/redoc", "/v1/actions/"):
        answer = served.get(path, served.approver)
        assert answer.status_code in (404, 405), (path, answer.status_code)
        assert answer.json()["error"]["code"] == "http_error"
    assert served.get("/openapi.json").status_code == 200  # the contract stays

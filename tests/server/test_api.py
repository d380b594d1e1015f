"""The HTTP API against a real uvicorn server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import ACTION, Served
from watchkeeper.store.audit import AuditLog


def test_an_agent_gets_a_recorded_decision(served: Served) -> None:
    answer = served.post("/v1/actions", served.agent_key, json={**ACTION, "agent": "someone"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["decision"] == "ask"
    assert body["digest"].startswith("sha256:")
    log = AuditLog(served.store)
    event = log.leaf(body["action_id"])
    assert event is not None
    assert '"agent":"infra-bot"' in event.event.decode()  # the key decides, not the body


@pytest.mark.socket  # the headers and the body as a client sends them
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wk_agent_nope"}, 401),
        ({"Authorization": "Basic x"}, 401),
    ],
)
def test_no_key_no_decision(served: Served, headers: dict[str, str], status: int) -> None:
    answer = httpx.post(served.base + "/v1/actions", json=ACTION, headers=headers, timeout=10)
    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"code", "message"}


def test_a_person_token_cannot_submit_actions(served: Served) -> None:
    assert served.post("/v1/actions", served.approver, json=ACTION).status_code == 401


def test_bad_bodies_get_the_error_shape(served: Served) -> None:
    for content, status in ((b"{not json", 400), (b"[1, 2]", 400), (b"x" * 70_000, 413)):
        answer = served.post("/v1/actions", served.agent_key, content=content)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"]


@pytest.mark.socket  # the headers and the body as a client sends them
def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(served: Served) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is known only by reading
        for _ in range(40):
            yield b'{"x": "' + b"y" * 4000 + b'"}'

    answer = httpx.post(served.base + "/v1/actions", content=chunks(), timeout=10,
                        headers={"Authorization": f"Bearer {served.agent_key}"})  # fmt: skip
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_invalid_actions_are_denied_and_recorded(served: Served) -> None:
    answer = served.post("/v1/actions", served.agent_key, json={"tool": 5})
    assert answer.status_code == 200
    assert answer.json()["decision"] == "deny"


def test_auditors_read_the_log_and_others_do_not(served: Served) -> None:
    served.post("/v1/actions", served.agent_key, json=ACTION)
    page = served.get("/v1/audit?after=-1&limit=5", served.auditor)
    assert page.status_code == 200
    kinds = [e["kind"] for e in page.json()["events"]]
    assert kinds[:3] == ["agent_added", "user_added", "user_added"]
    assert served.get("/v1/audit", served.approver).status_code == 403
    assert served.get("/v1/audit", served.agent_key).status_code == 401


def test_health_metrics_and_openapi(served: Served) -> None:
    assert served.get("/healthz").json()["status"] == "ok"
    served.post("/v1/actions", served.agent_key, json=ACTION)
    metrics = served.get("/metrics").text
    assert 'watchkeeper_decisions_total{decision="ask"}' in metrics
    spec = served.get("/openapi.json").json()
    assert {"/v1/actions", "/v1/audit", "/healthz", "/metrics"} <= set(spec["paths"])


def test_bad_vote_bodies_and_unknown_paths_get_the_error_shape(served: Served) -> None:
    url = "/v1/approvals/nope/votes"
    for content, code in ((b"{not json", "invalid_json"), (b"[1]", "invalid_request")):
        answer = served.post(url, served.approver, content=content)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == code
    missing = served.get("/v1/nothing-here", served.approver)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "http_error"
    not_a_number = served.post("/v1/actions/abc/outcome", served.agent_key, json={})
    assert not_a_number.status_code == 422
    assert not_a_number.json()["error"]["code"] == "invalid_request"
    assert served.get("/v1/approvals/nope", served.approver).status_code == 404
    assert served.get("/v1/approvals/nope", served.agent_key).status_code == 404
    # A method the path does not take says which ones it does.
    wrong = served.request("PUT", "/v1/pause", served.approver)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "http_error"
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_numbers_too_long_to_read_and_ids_too_large_are_client_errors(served: Served) -> None:
    huge = b'{"tool": "shell", "input": {"n": ' + b"9" * 5000 + b"}}"
    assert served.post("/v1/actions", served.agent_key, content=huge).status_code == 400
    assert served.post("/v1/approvals/x/votes", served.approver, content=huge).status_code == 400
    answer = served.post(f"/v1/actions/{2**70}/outcome", served.agent_key,
                         json={"status": "failed"})  # fmt: skip
    assert answer.status_code == 404


def test_large_bodies_are_decided_in_a_thread_with_the_same_answer(served: Served) -> None:
    import json

    from watchkeeper.server.routes.actions import INLINE_BYTES

    inline = served.post("/v1/actions", served.agent_key, json=ACTION).json()
    padded = json.dumps(ACTION) + " " * INLINE_BYTES  # same action, too big to decide inline
    answer = served.post("/v1/actions", served.agent_key, content=padded)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["decision"] == inline["decision"] == "ask"
    assert body["digest"] == inline["digest"]
    assert body["approval_id"] == inline["approval_id"]  # the same request joins its approval
    assert body["action_id"] != inline["action_id"]  # and is recorded again
    assert AuditLog(served.store).leaf(body["action_id"]) is not None


def test_a_revoked_key_is_refused_at_once_though_the_server_knew_it(served: Served) -> None:
    from watchkeeper.store.identities import Identities

    first = served.post("/v1/actions", served.agent_key, json=ACTION)
    assert first.status_code == 200  # the server has seen this key valid, and remembers it
    Identities(served.store).revoke_agent("infra-bot")  # as another replica or the CLI would
    size = AuditLog(served.store).size()
    again = served.post("/v1/actions", served.agent_key, json=ACTION)
    assert again.status_code == 401, again.text
    assert again.json()["error"]["code"] == "unauthorized"
    assert AuditLog(served.store).size() == size  # nothing was recorded for it
    assert served.post("/v1/actions", served.agent_key, json=ACTION).status_code == 401

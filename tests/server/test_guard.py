"""What a request must be before anything reads it: a known caller before a large body, small
bodies outside /v1/actions, a body that keeps arriving, and no NUL in the URL."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.server.conftest import Served
from watchkeeper.server.guard import Guard

#: These talk to the server as other processes and many connections do: over a socket.
pytestmark = pytest.mark.socket


def raw(served: Served, request: bytes, wait: float = 5.0) -> bytes:
    """Send ``request`` as it is (part of a body, perhaps) and read what comes back."""
    where = urlsplit(served.base)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as conn:
        conn.sendall(request)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                    break
        except TimeoutError:
            pass
        return answer


def headers(path: str, key: str, length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Authorization: Bearer {key}",
             "Content-Type: application/json", f"Content-Length: {length}", "", ""]  # fmt: skip
    return "\r\n".join(lines).encode()


def test_a_caller_without_a_key_is_refused_before_its_body_is_read(served: Served) -> None:
    started = time.monotonic()
    answer = raw(served, headers("/v1/actions", "not-a-key", 60_000) + b'{"tool": ')
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 3  # not after waiting for the rest of the body


def test_bodies_outside_actions_are_small(served: Served) -> None:
    big = b'{"reason": "' + b"x" * 70_000 + b'"}'
    answer = served.post("/v1/pause", served.approver, content=big)
    assert answer.status_code == 413
    assert (
        "request bodies to /v1/pause are limited to 65536 bytes"
        in answer.json()["error"]["message"]
    )


def test_a_body_that_stops_arriving_ends_the_request(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Guard, "BODY_SECONDS", 0.5)
    started = time.monotonic()
    answer = raw(served, headers("/v1/actions", served.agent_key, 100) + b'{"tool": "sh')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code":"timeout"' in answer
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "path",
    ["/v1/approvals/ab%00cd", "/v1/approvals/ab%00cd?wait=1", "/v1/approvals?prefix=a%00"],
)
def test_a_nul_in_the_url_is_refused_not_a_server_error(served: Served, path: str) -> None:
    answer = served.get(path, served.approver)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"

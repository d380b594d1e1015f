"""Delivering one notification, channel by channel, and every way it can fail, named."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import raw_characters
from tests.server.test_notify import Mailbox, Receiver
from watchkeeper.notify import Deliverer, DeliveryError, secret, sign, summary
from watchkeeper.store.outbox import Notification, backoff


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once this closes


def item(channel: str, kind: str = "approval_requested") -> Notification:
    return Notification("n1", channel, kind, {"approval": "a1", "agent": "bot"}, 0)


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("approval_requested", {"agent": "bot", "approval": "a1", "summary": "ask: rm"},
         "bot asks for approval (a1): ask: rm"),
        ("approval_decided", {"agent": "bot", "approval": "a1", "state": "denied"},
         "approval a1 for bot was denied"),
        ("approval_escalated", {"agent": "bot", "approval": "a1", "to": ["leads"],
                                "extended": True},
         "REMINDER: approval a1 for bot is still pending; escalated to leads; the deadline is "
         "extended once"),
        ("approval_expired", {"agent": "bot", "approval": "a1"},
         "approval a1 for bot expired: nobody decided in time"),
        ("pause", {"scope": "agent", "target": "bot", "by": "al", "reason": "loop"},
         "PAUSED agent bot by al: loop"),
        ("resume", {"pause": "p1", "by": "al", "reason": "fixed"},
         "resumed pause p1 by al: fixed"),
        ("other", {"x": 1}, 'other: {"x": 1}'),
    ],
)  # fmt: skip
def test_each_kind_reads_as_one_line(kind: str, payload: dict[str, object], expected: str) -> None:
    assert summary(kind, payload) == expected


def test_secrets_come_from_the_environment_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_UNIT_SECRET", "abc")
    assert secret("$env:WK_UNIT_SECRET", "secret", "hook") == "abc"
    assert secret("literal", "secret", "hook") == "literal"
    monkeypatch.delenv("WK_UNIT_SECRET")
    with pytest.raises(DeliveryError, match=r"channel 'hook': secret reads \$WK_UNIT_SECRET"):
        secret("$env:WK_UNIT_SECRET", "secret", "hook")


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # Known answer: computed independently with `openssl dgst -sha256 -hmac key`.
    assert sign("key", "1700000000", b"{}") == (
        "sha256=" + __import__("hmac").new(b"key", b"1700000000.{}", "sha256").hexdigest()
    )


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff(30) == 600.0


def test_unknown_channels_and_types_fail_with_what_is_declared() -> None:
    deliverer = Deliverer({"odd": {"type": "pigeon"}})
    with pytest.raises(DeliveryError, match="not in the standing orders any more; declared: odd"):
        deliverer.deliver(item("gone"))
    with pytest.raises(DeliveryError, match="unknown type 'pigeon'"):
        deliverer.deliver(item("odd"))


def test_an_http_channel_nobody_answers_fails_with_the_address() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/services/T000/B000/secret-token"
    deliverer = Deliverer({"hook": {"type": "webhook", "url": url},
                           "chat": {"type": "slack", "url": url}}, timeout=2)  # fmt: skip
    for channel in ("hook", "chat"):
        with pytest.raises(DeliveryError, match=f"POST to http://127.0.0.1:{port} failed") as err:
            deliverer.deliver(item(channel))
        assert "secret-token" not in str(err.value)  # the path is often the secret


def test_a_webhook_without_a_secret_is_sent_unsigned() -> None:
    receiver = Receiver()
    try:
        Deliverer({"hook": {"type": "webhook", "url": receiver.url + "/h"}}).deliver(item("hook"))
        ((headers, _body),) = receiver.on("/h")
        assert "X-Watchkeeper-Signature" not in headers
        assert headers["Idempotency-Key"] == "n1"
    finally:
        receiver.close()


def test_email_failures_name_the_server() -> None:
    port = closed_port()
    deliverer = Deliverer({"mail": {"type": "email", "smtp": f"127.0.0.1:{port}",
                                    "from": "wk@example.com", "to": ["a@example.com"]}},
                          timeout=2)  # fmt: skip
    with pytest.raises(DeliveryError, match=f"SMTP to 127.0.0.1:{port} failed"):
        deliverer.deliver(item("mail"))


def test_email_starttls_and_login_are_attempted_as_configured() -> None:
    mailbox = Mailbox()
    port = closed_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        base = {"type": "email", "smtp": f"127.0.0.1:{port}", "from": "wk@example.com",
                "to": ["a@example.com"]}  # fmt: skip
        # This server offers neither STARTTLS nor AUTH: each is refused, and said so.
        tls = Deliverer({"mail": {**base, "starttls": True}}, timeout=5)
        with pytest.raises(DeliveryError, match=r"(?i)starttls"):
            tls.deliver(item("mail"))
        login = Deliverer({"mail": {**base, "username": "u", "password": "p"}}, timeout=5)
        with pytest.raises(DeliveryError, match=r"(?i)auth"):
            login.deliver(item("mail"))
        assert mailbox.messages == []
        Deliverer({"mail": base}, timeout=5).deliver(item("mail"))
        assert len(mailbox.messages) == 1
    finally:
        controller.stop()


def test_the_log_channel_writes_what_people_wrote_as_text(caplog: pytest.LogCaptureFixture) -> None:
    reason = "ok\n\x1b[2Kresumed by admin\u202e"
    pause = Notification("n1", "ops", "pause", {"scope": "all", "by": "al", "reason": reason}, 0)
    with caplog.at_level("WARNING", logger="watchkeeper.notify"):
        Deliverer({"ops": {"type": "log"}}).deliver(pause)
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith("PAUSED all by al: ok\\n\\x1b[2Kresumed by admin\\u202e {")
    assert raw_characters(message) == []


def test_a_reason_with_line_breaks_is_mailed_with_a_one_line_subject() -> None:
    mailbox = Mailbox()
    port = closed_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = {"type": "email", "smtp": f"127.0.0.1:{port}", "from": "wk@example.com",
                "to": ["a@example.com"]}  # fmt: skip
        paused = Notification("n2", "mail", "pause", {"scope": "all", "target": "", "by": "al",
                              "reason": "loop\r\nBcc: everyone@example.com\nagain"}, 0)  # fmt: skip
        Deliverer({"mail": mail}, timeout=5).deliver(paused)
        (sent,) = mailbox.messages
        headers = sent.content.decode().split("\r\n\r\n", 1)[0]
        assert "Subject: [watchkeeper] PAUSED all by al: loop Bcc: everyone@example.com" \
               " again" in headers  # fmt: skip
        assert "\nBcc:" not in headers
    finally:
        controller.stop()

"""Delivering notifications: generic webhook, Slack, email, log; and the worker that sends them.

    notifier = Notifier.start(store, orders.channels, public_url="https://wk.example.com")
    notifier.wake()        # after a commit that queued notifications: send them now
    notifier.close()

Channels are declared in the standing orders (``channels:``); secrets may be ``$env:NAME``,
read when a notification is sent, so they are never stored. What each channel receives:

- ``webhook``: ``POST`` of ``{"id", "kind", "payload", "text"}`` as JSON, with
  ``X-Watchkeeper-Timestamp`` (Unix seconds), ``X-Watchkeeper-Signature: sha256=<hex>`` (HMAC-SHA256
  with the channel's ``secret`` over ``timestamp + "." + body``) and ``Idempotency-Key`` (the same
  on every retry of one notification). Any 2xx is delivered.
- ``slack``: an incoming-webhook message: the summary as text and Block Kit sections, with a
  link to the approval.
- ``email``: a plain-text message over SMTP, with STARTTLS and login when configured.
- ``log``: one line on the ``watchkeeper.notify`` logger.

A failure is retried with backoff by the outbox; it never changes a decision.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import threading
import time
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from watchkeeper.errors import DeliveryError, describe
from watchkeeper.store.database import Store
from watchkeeper.store.outbox import Notification, Outbox
from watchkeeper.terminal import shown

log = logging.getLogger("watchkeeper.notify")


def secret(value: Any, field: str, channel: str) -> str:
    """A channel setting, with ``$env:NAME`` read from the environment now."""
    text = "" if value is None else str(value)
    if text.startswith("$env:"):
        name = text[5:]
        found = os.environ.get(name)
        if not found:
            raise DeliveryError(
                f"channel {channel!r}: {field} reads ${name} from the environment, which is unset"
            )
        return found
    return text


def sign(secret_key: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp + "." + body`` (what receivers recompute)."""
    mac = hmac.new(secret_key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def summary(kind: str, payload: Mapping[str, Any]) -> str:
    """One line a person reads first."""
    agent = payload.get("agent", "?")
    approval = payload.get("approval", "")
    by, reason = payload.get("by"), payload.get("reason")
    if kind == "approval_requested":
        return (
            f"{agent} asks for approval ({approval}): {payload.get('summary') or 'see the action'}"
        )
    if kind == "approval_decided":
        how = " BY BREAK-GLASS" if payload.get("break_glass") else ""
        return f"approval {approval} for {agent} was {payload.get('state')}{how}"
    if kind == "approval_escalated":
        to = ", ".join(payload.get("to") or ()) or "the same people"
        more = "; the deadline is extended once" if payload.get("extended") else ""
        return (
            f"REMINDER: approval {approval} for {agent} is still pending; escalated to {to}{more}"
        )
    if kind == "approval_expired":
        return f"approval {approval} for {agent} expired: nobody decided in time"
    if kind == "case_opened":
        return f"{agent} hands a case to a person ({payload.get('case')}): {payload.get('summary')}"
    if kind == "pause":
        where = f"{payload.get('scope')} {payload.get('target') or ''}".strip()
        return f"PAUSED {where} by {by}: {reason}"
    if kind == "resume":
        return f"resumed pause {payload.get('pause')} by {by}: {reason}"
    if kind == "watch_alert":
        severity = str(payload.get("severity") or "").upper()
        over = payload.get("approver") or agent
        did = " (paused)" if payload.get("pause") else ""
        did += " (tightened)" if payload.get("tightening") else ""
        owner = f"; owner {payload.get('owner')}" if payload.get("owner") else ""
        return f"{severity} {payload.get('rule')} on {over}{did}: {reason}{owner}"
    return f"{kind}: {json.dumps(dict(payload), sort_keys=True)[:300]}"


def _host_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: enough to find the receiver, never its secret."""
    parts = httpx.URL(url) if url else None
    if parts is None or not parts.host:
        return "(an address that is not a URL)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


class Deliverer:
    """Sends one notification to one declared channel, or raises :class:`DeliveryError`."""

    def __init__(
        self,
        channels: Mapping[str, Mapping[str, Any]],
        public_url: str = "http://127.0.0.1:8470",
        timeout: float = 10.0,
    ) -> None:
        self.channels = channels
        self.public_url = public_url.rstrip("/")
        self.timeout = timeout

    def link(self, payload: Mapping[str, Any]) -> str | None:
        # The console's page, where a person signs in and decides (not the API's JSON).
        approval, case = payload.get("approval"), payload.get("case")
        if approval:
            return f"{self.public_url}/approvals/{approval}"
        if case:
            return f"{self.public_url}/cases/{case}"
        index = payload.get("audit_index")  # an alert: its event, and what it names
        return f"{self.public_url}/audit/{index}" if isinstance(index, int) else None

    def deliver(self, item: Notification) -> None:
        channel = self.channels.get(item.channel)
        if channel is None:
            raise DeliveryError(
                f"channel {item.channel!r} is not in the standing orders any more; "
                f"declared: {', '.join(self.channels) or 'none'}"
            )
        kind = channel.get("type")
        text = summary(item.kind, item.payload)
        if kind == "webhook":
            self._webhook(item, channel, text)
        elif kind == "slack":
            self._slack(item, channel, text)
        elif kind == "email":
            self._email(item, channel, text)
        elif kind == "log":
            # Read on a terminal (`watchkeeper serve`, journalctl): reasons and names as text.
            payload = json.dumps({"id": item.id, **item.payload}, sort_keys=True)
            log.warning("%s %s", shown(text), payload)
        else:
            raise DeliveryError(f"channel {item.channel!r} has unknown type {kind!r}")

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        # A webhook URL is often the secret itself (Slack's are): errors name the host only.
        shown = _host_of(url)
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST to {shown} failed: {type(exc).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise DeliveryError(f"POST to {shown} answered {answer.status_code}")

    def _webhook(self, item: Notification, channel: Mapping[str, Any], text: str) -> None:
        url = secret(channel.get("url"), "url", item.channel)
        body = json.dumps(
            {"id": item.id, "kind": item.kind, "payload": item.payload, "text": text,
             "link": self.link(item.payload)},
            sort_keys=True,
        ).encode()  # fmt: skip
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": item.id,
                   "X-Watchkeeper-Timestamp": timestamp}  # fmt: skip
        if channel.get("secret"):
            key = secret(channel.get("secret"), "secret", item.channel)
            headers["X-Watchkeeper-Signature"] = sign(key, timestamp, body)
        self._post(url, body, headers)

    def _slack(self, item: Notification, channel: Mapping[str, Any], text: str) -> None:
        url = secret(channel.get("url"), "url", item.channel)
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        ]
        details = [f"*{k}*: {item.payload[k]}" for k in ("agent", "digest", "state", "reason")
                   if item.payload.get(k)]  # fmt: skip
        if details:
            context = [{"type": "mrkdwn", "text": "  ".join(details)}]
            blocks.append({"type": "context", "elements": context})
        link = self.link(item.payload)
        if link:
            button = {"type": "mrkdwn", "text": f"<{link}|Open the approval>"}
            blocks.append({"type": "section", "text": button})
        body = json.dumps({"text": text, "blocks": blocks}).encode()
        self._post(url, body, {"Content-Type": "application/json"})

    def _email(self, item: Notification, channel: Mapping[str, Any], text: str) -> None:
        host, _, port = str(channel.get("smtp")).rpartition(":")
        message = EmailMessage()
        # One line: a reason with a newline would be refused as a header (or, with a lax mailer,
        # start a header of its own).
        message["Subject"] = f"[watchkeeper] {' '.join(text.split())[:150]}"
        message["From"] = str(channel.get("from"))
        # An alert also writes to the people it names (the agent's owner, an approver's group):
        # addresses from the standing orders, never from what an agent sent.
        people = item.payload.get("people") if item.kind == "watch_alert" else None
        to = [str(t) for t in channel.get("to") or ()]
        to += [str(p) for p in people or () if isinstance(p, str) and str(p) not in to]
        message["To"] = ", ".join(to)
        message["Message-ID"] = f"<{item.id}@watchkeeper>"
        link = self.link(item.payload)
        # One line per field: a value with a line break (an agent's session name) cannot add
        # lines of its own that read as the message's.
        lines = [text, ""] + [f"{k}: {' '.join(str(v).splitlines())}"
                              for k, v in sorted(item.payload.items())]  # fmt: skip
        message.set_content("\n".join(lines + ([f"\n{link}"] if link else [])))
        try:
            with smtplib.SMTP(host or "localhost", int(port or 25), timeout=self.timeout) as smtp:
                if channel.get("starttls"):
                    smtp.starttls()
                if channel.get("username"):
                    smtp.login(
                        secret(channel.get("username"), "username", item.channel),
                        secret(channel.get("password"), "password", item.channel),
                    )
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP to {channel.get('smtp')} failed: {describe(exc)}") from exc


class Notifier:
    """The worker that sends what the outbox holds, woken by commits and every ``interval``."""

    def __init__(self, outbox: Outbox, deliverer: Deliverer, interval: float = 1.0) -> None:
        self.outbox = outbox
        self.deliverer = deliverer
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)

    @classmethod
    def start(
        cls,
        store: Store,
        channels: Mapping[str, Mapping[str, Any]],
        public_url: str = "http://127.0.0.1:8470",
        interval: float = 1.0,
    ) -> Notifier:
        notifier = cls(Outbox(store), Deliverer(channels, public_url), interval)
        notifier._thread.start()
        return notifier

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Deliver what is due now; how many were claimed."""
        items = self.outbox.claim()
        for item in items:
            try:
                self.deliverer.deliver(item)
            except Exception as exc:  # any failure is retried later; nothing else changes
                self.outbox.failed(item, describe(exc))
            else:
                self.outbox.sent(item)
        return len(items)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:  # the database went away: try again soon
                log.warning("notifications could not be claimed: %s", describe(exc))
                busy = 0
            if not busy:
                self._wake.wait(self.interval)
                self._wake.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

"""The audit log in the console, over real HTTP: who may read it, search by subject and text,
one event whole, the export, and whether the newest checkpoint verifies."""

from __future__ import annotations

import json

import httpx

from tests.console.conftest import PASSWORD, Console, sign_in
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer


def _case(console: Console, summary: str) -> str:
    opened = httpx.post(f"{console.base}/v1/cases", json={"summary": summary, "why": "not mine"},
                        headers={"Authorization": f"Bearer {console.agent_key}"})  # fmt: skip
    return str(opened.json()["id"])


def test_auditors_search_read_and_export_the_log(console: Console) -> None:
    first = _case(console, "double charge on order 8812")
    _case(console, "address change for acct-9")
    with console.client() as http:
        sign_in(http, "audit@example.com", PASSWORD)
        page = http.get("/audit")
        assert page.status_code == 200
        # The tail signer's first look signs what it finds: under load it may have come first.
        assert ("no checkpoint signed yet" in page.text
                or "verified: signed by this server&#39;s key" in page.text
                or "verified: signed by this server's key" in page.text)  # fmt: skip
        found = http.get("/audit", params={"subject": f"case:{first}"}).text
        assert "double charge on order 8812" in found
        assert "address change for acct-9" not in found
        by_text = http.get("/audit", params={"q": "acct-9", "kind": "case"}).text
        assert "address change for acct-9" in by_text
        assert "double charge" not in by_text
        event = http.get("/audit/0")
        assert event.status_code == 200
        assert "Leaf hash" in event.text
        assert http.get("/audit/999").status_code == 404
        export = http.get("/audit/export")
        assert export.headers["content-disposition"] == 'attachment; filename="audit.jsonl"'
        lines = [json.loads(line) for line in export.text.splitlines()]
        assert [e["index"] for e in lines] == list(range(len(lines)))
        assert {e["kind"] for e in lines} >= {"case", "user_added", "agent_added"}
        # A checkpoint signed with the server's key verifies against the stored tree.
        signer = Signer.load(console.audit_key)
        AuditLog(console.store).checkpoint(signer, "watchkeeper/audit")
        assert "verified: signed by this server" in http.get("/audit").text


def test_approvers_do_not_read_the_audit_page(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        for path in ("/audit", "/audit/export", "/audit/0"):
            refused = http.get(path)
            assert refused.status_code == 403, path
            assert "needs the role auditor or admin" in refused.text

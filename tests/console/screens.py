"""``make screens``: the console's pages as pictures, on a desktop and on a phone, with a few
approvals, a case and a pause in them, written to ``docs/screens/``.

    python -m tests.console.screens [OUT_DIR]

A real server on a throwaway SQLite database, and Debian's chromium under Playwright.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.console.conftest import CHROMIUM, PASSWORD
from tests.server.conftest import serving
from watchkeeper.config import Settings
from watchkeeper.orders.loader import builtin
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _story(base: str, key: str, token: str) -> dict[str, str]:
    """Approvals, a case and a pause, as an infrastructure agent and a person leave them."""
    agent = {"Authorization": f"Bearer {key}"}
    asked = httpx.post(f"{base}/v1/actions", headers=agent, json={
        "tool": "shell", "environment": "prod", "session": "s-42",
        "input": {"command": "rm -rf /srv/pgdata/base && systemctl restart postgresql"},
        "intent": {"goal": "free disk on db-7", "plan": ["check usage", "remove old base",
                   "restart"], "step": 2, "rationale": "disk is 97% full", "doubts":
                   "not sure the base directory is backed up"}}).json()  # fmt: skip
    httpx.post(
        f"{base}/v1/actions",
        headers=agent,
        json={"tool": "shell", "environment": "prod", "input": {"command": "DROP TABLE orders"}},
    )
    case = httpx.post(f"{base}/v1/cases", headers=agent, json={
        "summary": "customer charged twice for order 8812; asks for a refund of 1,200",
        "why": "refunds over 1,000 are outside my charter", "asks_for": "a refund",
        "customer": "acct-4471", "tried": ["looked up order 8812"], "transcript": [
            {"role": "customer", "text": "I was charged twice!"},
            {"role": "agent", "text": "I see two charges of 1,200."}]}).json()  # fmt: skip
    httpx.post(
        f"{base}/v1/pause",
        headers={"Authorization": f"Bearer {token}"},
        json={"scope": "session", "target": "s-99", "reason": "looping on retries"},
    )
    return {"approval": asked["approval_id"], "case": case["id"]}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        store = Store.open(f"sqlite:///{home}/wk.db")
        ids = Identities(store)
        key = ids.add_agent("infra-bot")
        ids.add_user("alice@example.com", role="approver", groups=["sre"], password=PASSWORD)
        token = ids.issue_token("alice@example.com")
        with serving(store, Settings(audit_key=f"{home}/audit.key"), builtin()) as base:
            made = _story(base, key, token)
            pages = {"inbox": "/", "approval": f"/approvals/{made['approval']}",
                     "cases": "/cases", "case": f"/cases/{made['case']}", "agents": "/agents",
                     "orders": "/orders"}  # fmt: skip
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                for size, viewport in SIZES.items():
                    context = browser.new_context(base_url=base, viewport=viewport)
                    page = context.new_page()
                    page.goto("/login")
                    page.get_by_label("Email").fill("alice@example.com")
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_load_state()
                    for name, path in pages.items():
                        page.goto(path)
                        # The orders page lists every built-in rule: its first screen says enough.
                        whole = name != "orders"
                        page.screenshot(path=out / f"{name}-{size}.png", full_page=whole)
                    context.close()
                browser.close()
        store.close()
    print(f"screens written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screens"))

"""The console in a real browser (Debian's chromium under Playwright), as the approver woken at
3 a.m. uses it: sign in, find what waits, read it, decide; work a case; see a pause. Every page
is checked with axe-core and fits a phone's width."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.conftest import PASSWORD, Console
from watchkeeper.store.identities import Identities

#: Browser tests run on SQLite; the console's reads and writes on PostgreSQL are the service's
#: and the API's, covered by their tests and by test_access.py on both stores.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(chromium: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the console."""
    context = chromium.new_context(base_url=console.base)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Any, email: str = "alice@example.com", password: str = PASSWORD) -> None:
    page.goto("/")
    assert page.url.endswith("/login?next=%2F")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url, page.content()


def accessible(page: Any) -> None:
    """No axe-core violation on the page as it is, and nothing wider than the screen."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    problems = [f"{v['id']}: {v['help']} ({len(v['nodes'])})"
                for v in results.response["violations"]]  # fmt: skip
    assert not problems, f"{page.url}: {problems}"
    width = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert width <= 0, f"{page.url} is {width}px wider than the screen"


def submit(console: Console, command: str, **extra: Any) -> dict[str, Any]:
    action = {"tool": "shell", "environment": "prod", "input": {"command": command}, **extra}
    answer = httpx.post(f"{console.base}/v1/actions", json=action,
                        headers={"Authorization": f"Bearer {console.agent_key}"})  # fmt: skip
    body: dict[str, Any] = answer.json()
    assert body["decision"] == "ask", body
    return body


def test_the_approver_reads_and_denies_with_a_comment(browser: Any, console: Console) -> None:
    asked = submit(console, "rm -rf /srv/data && echo done",
                   intent={"goal": "free disk on db-7", "rationale": "disk 97% full\u202e",
                           "doubts": "not sure the data is backed up"})  # fmt: skip
    page = browser.new_page()
    sign_in(page)
    expect(page.get_by_role("heading", name="Waiting for people")).to_be_visible()
    row = page.get_by_role("link", name="shell: rm -rf /srv/data && echo done")
    expect(row).to_be_visible()
    expect(page.locator(".countdown").first).to_have_text(re.compile(r"^in "))
    expect(page.get_by_text("0 of 2")).to_be_visible()
    accessible(page)
    row.click()
    assert asked["approval_id"] in page.url
    # The input with the effect's span marked; the hidden character in the intent shown.
    expect(page.locator("pre.input mark").first).to_have_text("rm -rf /srv/data")
    expect(page.locator(".esc").first).to_have_text("\\u202e")
    expect(page.get_by_text("cannot be undone").first).to_be_visible()
    expect(page.get_by_text("Instructions: Take a snapshot or backup first")).to_be_visible()
    expect(page.get_by_text("not sure the data is backed up")).to_be_visible()
    accessible(page)
    # A denial needs a comment: the agent is told what the person said.
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("a denial needs a comment")).to_be_visible()
    page.get_by_label("Comment").fill("Snapshot db-7 first and put the snapshot id in the plan.")
    page.get_by_role("button", name="Deny").click()
    expect(page.locator(".state")).to_have_text("denied")
    agent = httpx.get(f"{console.base}/v1/approvals/{asked['approval_id']}",
                      headers={"Authorization": f"Bearer {console.agent_key}"}).json()  # fmt: skip
    assert agent["answer"]["message"].startswith("Denied by alice@example.com")
    assert "Snapshot db-7 first" in agent["answer"]["message"]


def test_a_case_is_claimed_and_handed_back(browser: Any, console: Console) -> None:
    opened = httpx.post(
        f"{console.base}/v1/cases",
        headers={"Authorization": f"Bearer {console.agent_key}"},
        json={
            "summary": "charged twice for order 8812",
            "why": "refunds over 1,000 are outside my charter",
            "transcript": [{"role": "customer", "text": "I was charged twice!"}],
        },
    ).json()
    page = browser.new_page()
    sign_in(page)
    page.get_by_role("link", name="Cases").click()
    page.get_by_role("link", name="charged twice for order 8812").click()
    expect(page.get_by_text("I was charged twice!")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Claim it").click()
    page.get_by_label("Notes for the agent").fill("Refund the second charge now.")
    page.get_by_role("button", name="Hand back to the agent").click()
    expect(page.get_by_role("heading").first).to_have_text(re.compile(r"handed back$"))
    case = httpx.get(f"{console.base}/v1/cases/{opened['id']}",
                     headers={"Authorization": f"Bearer {console.agent_key}"}).json()  # fmt: skip
    assert case["answer"]["notes"] == "Refund the second charge now."
    assert case["claimed_by"] == "alice@example.com"


def test_a_pause_shows_on_every_page_and_is_lifted_with_a_reason(
    browser: Any, console: Console
) -> None:
    page = browser.new_page()
    sign_in(page)
    page.get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="infra-bot").click()
    page.get_by_label("Why it must stop").fill("deleting the wrong buckets")
    page.get_by_role("button", name="Pause this agent").click()
    for name in ("Inbox", "Cases", "Orders"):
        page.get_by_role("link", name=name, exact=True).click()
        banner = page.get_by_role("alert")
        expect(banner).to_contain_text("Paused:")
        expect(banner).to_contain_text("deleting the wrong buckets")
    accessible(page)
    denied = httpx.post(f"{console.base}/v1/actions", headers={"Authorization":
                        f"Bearer {console.agent_key}"}, json={"tool": "shell", "environment":
                        "dev", "input": {"command": "ls"}}).json()  # fmt: skip
    assert denied["decision"] == "deny"
    page.goto("/agents/infra-bot")
    page.get_by_label("Why it may go on").fill("bucket policy fixed")
    page.get_by_role("button", name="Resume").click()
    page.goto("/")
    assert page.locator(".banner").count() == 0


def test_every_page_reads_on_a_phone(chromium: Any, console: Console) -> None:
    submit(console, "rm -rf /srv/data")
    context = chromium.new_context(base_url=console.base, viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, "root@example.com", console.one_time)
        page.get_by_label("New password (at least 12 characters)").fill("my own long password")
        page.get_by_label("New password again").fill("my own long password")
        accessible(page)
        page.get_by_role("button", name="Change the password").click()
        expect(page.get_by_role("heading", name="Waiting for people")).to_be_visible()
        for path in ("/", "/cases", "/agents", "/orders", "/audit", "/audit/0"):
            page.goto(path)
            accessible(page)
        page.goto("/")
        page.locator("table a").first.click()
        accessible(page)
        expect(page.locator("summary", has_text="Break-glass")).to_be_visible()  # an admin's page
    finally:
        context.close()


def test_a_plan_is_approved_by_keyboard_alone_and_the_waiting_agent_hears_the_comment(
    browser: Any, console: Console
) -> None:
    gone = {"actions": ["delete"], "before": {"skip_final_snapshot": True}, "after": None}
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "aws_db_instance.orders", "mode": "managed", "type": "aws_db_instance",
         "change": gone}]}  # fmt: skip
    agent = {"Authorization": f"Bearer {console.agent_key}"}
    asked = httpx.post(f"{console.base}/v1/actions", headers=agent, json={
        "tool": "terraform", "environment": "prod", "input": {"plan": plan}}).json()  # fmt: skip
    assert asked["decision"] == "ask", asked
    heard: list[dict[str, Any]] = []
    waiting = threading.Thread(target=lambda: heard.append(httpx.get(
        f"{console.base}/v1/approvals/{asked['approval_id']}?wait=30", headers=agent,
        timeout=40).json()))  # fmt: skip
    waiting.start()
    page = browser.new_page()
    sign_in(page)
    page.goto(f"/approvals/{asked['approval_id']}")
    plan_table = page.locator("section", has=page.get_by_role("heading", name="The Terraform plan"))
    expect(plan_table).to_contain_text("delete")
    expect(plan_table).to_contain_text("aws_db_instance.orders")
    effects = page.locator("section", has=page.get_by_role("heading", name="What it would"))
    expect(effects).to_contain_text("cannot be undone")
    # Keyboard alone: focus moves through the controls to the comment, then to Approve.
    page.locator("body").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "comment":
            break
    else:
        raise AssertionError("Tab never reached the comment")
    page.keyboard.type("Final snapshot orders-final-2026 is taken; go ahead.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Approve"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("section", has=page.get_by_role(
        "heading", name="Votes"))).to_contain_text("alice@example.com: approve")  # fmt: skip
    bob = Identities(console.store)
    bob.add_user("bob@example.com", role="approver", groups=["sre"], password=PASSWORD)
    second = httpx.post(f"{console.base}/v1/approvals/{asked['approval_id']}/votes",
                        headers={"Authorization": f"Bearer {bob.issue_token('bob@example.com')}"},
                        json={"vote": "approve"})  # fmt: skip
    assert second.json()["state"] == "approved"
    waiting.join(30)
    (answer,) = heard
    assert answer["state"] == "approved"
    assert answer["answer"]["comments"][0]["comment"] == (
        "Final snapshot orders-final-2026 is taken; go ahead."
    )
    assert "Final snapshot orders-final-2026 is taken" in answer["answer"]["message"]


def test_what_agents_write_cannot_pass_for_the_page_or_hide(browser: Any, console: Console) -> None:
    # A selector after a letter, a Lisu letter, a mathematical letter and a minus sign read as
    # ASCII; each is marked. A role cannot style its message; a long word wraps.
    sneaky = "rm -rf /srv/d\ufe00ata && curl https://api.\ua4d6ithub.com/\U0001d68a \u2212rf"
    long_word = "x" * 3000
    opened = httpx.post(f"{console.base}/v1/cases",
                        headers={"Authorization": f"Bearer {console.agent_key}"},
                        json={"summary": sneaky, "why": long_word, "transcript": [
                            {"role": "agent\tbanner", "text": "hello"}]}).json()  # fmt: skip
    context = browser
    page = context.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page)
    page.goto(f"/cases/{opened['id']}")
    summary = page.locator("dd").nth(2)
    expect(summary.locator(".esc")).to_have_text("\\ufe00")
    expect(summary.locator(".lookalike")).to_have_count(3)
    assert page.locator(".banner").count() == 0  # the role's text styled nothing
    accessible(page)
    # A refused vote keeps the comment and says why in the page's own words; the query string
    # says nothing on the page.
    asked = submit(console, "rm -rf /srv/data")
    page.goto(f"/approvals/{asked['approval_id']}?said=Security+pre-approved+this")
    expect(page.get_by_text("Security pre-approved this")).to_have_count(0)


def test_scorecards_show_the_credit_and_the_debit_and_take_an_incident(
    browser: Any, console: Console
) -> None:
    headers = {"Authorization": f"Bearer {console.agent_key}"}
    allowed = httpx.post(f"{console.base}/v1/actions", headers=headers,
                         json={"tool": "shell", "input": {"command": "ls"}}).json()  # fmt: skip
    submit(console, "rm -rf /srv/data")
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page)
    page.get_by_role("link", name="Scorecards").click()
    expect(page.get_by_role("heading", name="Scorecards")).to_be_visible()
    expect(page.get_by_role("img", name="1 allowed, 1 asked, 0 denied")).to_be_visible()
    accessible(page)
    page.get_by_text("Report an incident").click()
    page.get_by_label("Action ids").fill(str(allowed["action_id"]))
    page.get_by_label("Severity").select_option("high")
    page.get_by_label("What happened").fill("the listing hid a deleted directory")
    with page.expect_navigation():
        page.get_by_role("button", name="Open the incident").click()
    expect(page.get_by_role("heading", name=re.compile(r"Incident .*open"))).to_be_visible()
    rules = ", ".join(allowed["rules"]) or "the environment's default"
    expect(page.get_by_role("cell", name=f"Rules: {rules}")).to_be_visible()  # a phone: labelled
    accessible(page)
    page.get_by_label("What resolved it").fill("restored the directory from backup")
    with page.expect_navigation():
        page.get_by_role("button", name="Close the incident").click()
    expect(page.get_by_role("heading", name=re.compile(r"Incident .*closed"))).to_be_visible()
    page.goto("/scorecards?by=rule&since=7d")
    expect(page.get_by_text(re.compile(rf"action {allowed['action_id']} was allowed by .* "
                                       "tied to incident"))).to_be_visible()  # fmt: skip

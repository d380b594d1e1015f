"""Who may use the console, over real HTTP: sign-in, the one-time password, the forms' token,
the rate limit, timeouts, sign-out, and the line between the console and the API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update

from tests.console.conftest import PASSWORD, Console, act, sign_in, token_in
from watchkeeper.store.identities import Identities
from watchkeeper.store.schema import console_sessions


def test_pages_need_a_session_and_send_the_visitor_to_sign_in(console: Console) -> None:
    with console.client() as http:
        for path in ("/", "/approvals/x", "/cases", "/audit", "/agents", "/orders"):
            answer = http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        signed = sign_in(http, "alice@example.com", PASSWORD)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
        inbox = http.get("/")
        assert inbox.status_code == 200
        assert "Waiting for people" in inbox.text
        assert inbox.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in inbox.headers["content-security-policy"]


def test_a_wrong_password_an_agent_key_or_a_token_does_not_sign_in(console: Console) -> None:
    with console.client() as http:
        for email, password in (("alice@example.com", "wrong password!"),
                                ("infra-bot", console.agent_key),
                                ("alice@example.com", console.approver_token)):  # fmt: skip
            answer = sign_in(http, email, password)
            assert answer.status_code == 401
            assert "do not match an account" in answer.text
        # A personal token is not a console session, and the cookie opens no API endpoint.
        assert http.get("/", headers={"Authorization": f"Bearer {console.approver_token}"}
                        ).status_code == 303  # fmt: skip
        sign_in(http, "alice@example.com", PASSWORD)
        assert http.get("/v1/approvals").status_code == 401


def test_five_failures_lock_the_account_for_a_while(console: Console) -> None:
    with console.client() as http:
        for _ in range(5):
            assert sign_in(http, "alice@example.com", "not her password").status_code == 401
        locked = sign_in(http, "alice@example.com", PASSWORD)  # right, but too late
        assert locked.status_code == 429
        assert "Too many failed sign-ins" in locked.text
        assert "Try again in 15 min" in locked.text
        # Another account from elsewhere is not locked by her failures alone.
        assert sign_in(http, "audit@example.com", PASSWORD).status_code == 303


def test_forms_need_the_sessions_token_and_this_origin(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        assert http.post("/logout", data={}).status_code == 403
        assert http.post("/logout", data={"csrf": "forged"}).status_code == 403
        token = token_in(http.get("/").text)
        elsewhere = http.post("/logout", data={"csrf": token},
                              headers={"Origin": "https://evil.example"})  # fmt: skip
        assert elsewhere.status_code == 403
        assert "is not taken here" in elsewhere.text
        assert http.get("/").status_code == 200  # still signed in
        # The sign-in form has a token of its own.
        with console.client() as other:
            assert other.post("/login", data={"email": "alice@example.com",
                                              "password": PASSWORD}).status_code == 403  # fmt: skip


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        kept = dict(http.cookies)
        assert act(http, "/logout", {}).status_code == 303
        assert http.get("/").status_code == 303
    with console.client() as replay:  # the old cookie, replayed, is worth nothing
        replay.cookies.update(kept)
        assert replay.get("/").status_code == 303


def test_idle_and_old_sessions_end(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        assert http.get("/").status_code == 200
        with console.store.writing() as conn:  # half an hour without a page
            conn.execute(update(console_sessions).values(seen_at=console_sessions.c.seen_at - 1801))
        assert http.get("/").status_code == 303
        sign_in(http, "alice@example.com", PASSWORD)
        with console.store.writing() as conn:  # busy, but signed in twelve hours ago
            conn.execute(update(console_sessions).values(
                created_at=console_sessions.c.created_at - 12 * 3600 - 1))  # fmt: skip
        assert http.get("/").status_code == 303


def test_a_one_time_password_signs_in_once_and_must_be_replaced_first(console: Console) -> None:
    with console.client() as http:
        signed = sign_in(http, "root@example.com", console.one_time)
        assert signed.status_code == 303
        with console.client() as second:  # spent: whoever saw it printed cannot use it now
            assert sign_in(second, "root@example.com", console.one_time).status_code == 401
        for path in ("/", "/agents", "/audit"):
            assert http.get(path).headers["location"] == "/password"
        form = http.get("/password")
        assert "You signed in with a one-time password" in form.text
        assert 'name="current"' not in form.text  # it is spent: the session is the proof
        token = token_in(form.text)
        for weak in ("short", " " * 14 + "x"):
            refused = http.post("/password", data={"csrf": token, "new": weak, "again": weak})
            assert refused.status_code == 422
            assert "shorter than 12 characters" in refused.text
        done = http.post("/password", data={"csrf": token, "new": "my own long password",
                                            "again": "my own long password"})  # fmt: skip
        assert done.status_code == 303
        assert http.get("/agents").status_code == 200
    with console.client() as again:
        assert sign_in(again, "root@example.com", console.one_time).status_code == 401
        assert sign_in(again, "root@example.com", "my own long password").status_code == 303
        assert again.get("/").status_code == 200


def test_the_password_page_is_no_way_around_the_sign_in_limit(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        token = token_in(http.get("/password").text)
        answers = [
            http.post(
                "/password",
                data={
                    "csrf": token,
                    "current": f"guess {n}",
                    "new": "a new long password",
                    "again": "a new long password",
                },
            ).status_code
            for n in range(7)
        ]
        assert answers == [422] * 5 + [429] * 2
        right = http.post("/password", data={"csrf": token, "current": PASSWORD, "new":
                                             "a new long password", "again":
                                             "a new long password"})  # fmt: skip
        assert right.status_code == 429


def test_disabling_a_person_ends_their_sessions_for_good(console: Console) -> None:
    ids = Identities(console.store)
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        assert http.get("/").status_code == 200
        ids.disable_user("alice@example.com")
        assert http.get("/").status_code == 303
        ids.enable_user("alice@example.com")
        assert http.get("/").status_code == 303  # enabling again does not revive the cookie


def test_next_never_leaves_the_console(console: Console) -> None:
    with console.client() as http:
        page = http.get("/login?next=//evil.example/x")
        assert 'name="next" value="/"' in page.text
        answer = http.post("/login", data={"csrf": token_in(page.text), "email":
                                           "alice@example.com", "password": PASSWORD,
                                           "next": "https://evil.example/"})  # fmt: skip
        assert answer.headers["location"] == "/"


def test_guesses_sent_all_at_once_are_counted_before_they_are_checked(console: Console) -> None:
    def guess(n: int) -> int:
        with console.client() as http:
            return sign_in(http, "alice@example.com", f"guess number {n}").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(20)))
    assert answers.count(401) == 5, answers  # five passwords were checked; the rest waited
    assert answers.count(429) == 15, answers
    with console.client() as http:
        assert sign_in(http, "alice@example.com", PASSWORD).status_code == 429


def test_a_form_from_the_public_address_is_taken(console: Console) -> None:
    """Behind a proxy that ends TLS the browser's origin is WATCHKEEPER_PUBLIC_URL's."""
    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        token = token_in(http.get("/").text)
        public = http.post("/logout", data={"csrf": token},
                           headers={"Origin": "http://127.0.0.1:8470"})  # fmt: skip
        assert public.status_code == 303


def test_numbers_past_any_index_are_no_event(console: Console) -> None:
    with console.client() as http:
        sign_in(http, "audit@example.com", PASSWORD)
        assert http.get("/audit/99999999999999999999").status_code == 404
        refused = http.get("/audit", params={"before": "99999999999999999999"})
        assert refused.status_code == 422
        assert "is not an event&#39;s index" in refused.text


def test_a_one_time_password_sent_at_once_many_times_opens_one_session(console: Console) -> None:
    def attempt(_: int) -> int:
        with console.client() as http:
            return sign_in(http, "root@example.com", console.one_time).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(attempt, range(4)))
    assert answers.count(303) == 1, answers


def test_an_admin_gives_a_locked_out_person_a_new_one_time_password(console: Console) -> None:
    from typer.testing import CliRunner

    from watchkeeper.cli import app

    with console.client() as http:
        sign_in(http, "alice@example.com", PASSWORD)
        assert http.get("/").status_code == 200
        url = console.store.url
        reset = CliRunner().invoke(app, ["users", "reset-password", "alice@example.com",
                                         "--db", url])  # fmt: skip
        assert reset.exit_code == 0, reset.stderr
        fresh = reset.stdout.strip()
        assert len(fresh) >= 20
        assert http.get("/").status_code == 303  # her session ended
    with console.client() as again:
        assert sign_in(again, "alice@example.com", PASSWORD).status_code == 401
        assert sign_in(again, "alice@example.com", fresh).status_code == 303
        assert again.get("/").headers["location"] == "/password"
    missing = CliRunner().invoke(app, ["users", "reset-password", "nobody@example.com",
                                       "--db", console.store.url])  # fmt: skip
    assert missing.exit_code == 2
    assert "there is no user 'nobody@example.com'" in missing.stderr

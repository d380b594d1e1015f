"""Who is at the console: signing in and out, the forced password change, and the checks on
every page and form.

- Sign-in takes a person's email and password (argon2id). Agent keys and personal tokens do not
  sign in, and the session cookie opens no API endpoint: the API takes bearer tokens only.
- The cookie holds a random secret (the database keeps its SHA-256); it is ``HttpOnly``,
  ``SameSite=Strict``, and ``Secure`` with the ``__Host-`` prefix when the console is reached
  over HTTPS (the request, or ``WATCHKEEPER_PUBLIC_URL``).
- Sessions end when idle (``WATCHKEEPER_CONSOLE_IDLE``) and at an absolute limit
  (``WATCHKEEPER_CONSOLE_MAX``), on sign-out, and when their person is disabled.
- Every form carries the session's token (the sign-in form, a token of its own in a cookie), and
  a form sent from another origin is refused.
- Failed sign-ins are limited per account and per address (:mod:`watchkeeper.store.signins`).
- Someone holding a one-time password may do nothing but choose a new one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from watchkeeper.console.render import HEADERS, page
from watchkeeper.errors import WatchkeeperError
from watchkeeper.service import Service
from watchkeeper.store.signins import Session, SignIns

router = APIRouter()

#: The login form's own token, before there is a session.
LOGIN_COOKIE = "wk_login"
#: Longest form body read, and most fields.
_FORM_BYTES = 64 * 1024
_FORM_FIELDS = 20


class Redirect(WatchkeeperError):
    """Raised where a page cannot be shown to this visitor: answered with a redirect."""

    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


async def redirect_handler(_request: Request, exc: Exception) -> Response:
    """The answer to :class:`Redirect`: 303 to where it says."""
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.to, status_code=303, headers=HEADERS)


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person on a page: their session and its secret."""

    session: Session
    secret: str

    @property
    def email(self) -> str:
        return self.session.user.email


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def signins(request: Request) -> SignIns:
    found: SignIns = request.app.state.signins
    return found


def secure(request: Request) -> bool:
    """Whether the console is reached over HTTPS (then the cookie is ``Secure``)."""
    return request.url.scheme == "https" or service_of(request).settings.public_url.startswith(
        "https://"
    )


def cookie_name(request: Request) -> str:
    return "__Host-wk_session" if secure(request) else "wk_session"


def _local(target: str) -> str:
    """``target`` if it is a path on this server, else ``/`` (no open redirect)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/"


async def visitor(request: Request) -> Visitor:
    """The signed-in person, or a :class:`Redirect` to sign in (or to change a one-time
    password)."""
    secret = request.cookies.get(cookie_name(request), "")
    session = await run_in_threadpool(signins(request).find, secret) if secret else None
    if session is None:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Redirect(f"/login?next={quote(wanted, safe='')}")
    if session.password_expired and request.url.path != "/password":
        raise Redirect("/password")
    return Visitor(session, secret)


class Forbidden(WatchkeeperError):
    """A form refused before it is read further (another origin, no token): answered 403."""


def _origins(request: Request) -> set[str]:
    """Where this console's own forms come from: the address the request reached, and the
    public one (behind a proxy that ends TLS, the browser's origin is the public one)."""
    public = urlsplit(service_of(request).settings.public_url)
    return {f"{request.url.scheme}://{request.url.netloc}", f"{public.scheme}://{public.netloc}"}


async def form(request: Request, expected: str) -> dict[str, str]:
    """The form sent with this request, once its origin and token are checked against
    ``expected`` (the session's token, or the sign-in form's)."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in _origins(request):
        raise Forbidden(f"a form sent from {origin} is not taken here")
    raw = await request.body()
    if len(raw) > _FORM_BYTES:
        raise Forbidden("the form is too large")
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise Forbidden("the form could not be read") from None
    got = {k: v[0] for k, v in fields.items()}
    token = got.get("csrf", "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("the form's token is missing or stale: reload the page and send it again")
    return got


async def forbidden_handler(_request: Request, exc: Exception) -> Response:
    return page("error.html", {"title": "Refused", "message": str(exc)}, status=403)


def _login_page(
    request: Request, message: str = "", status: int = 200, email: str = ""
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    context = {"title": "Sign in", "csrf": token, "message": message, "email": email,
               "next": _local(request.query_params.get("next", "/"))}  # fmt: skip
    response = page("login.html", context, status=status)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=secure(request), max_age=3600)  # fmt: skip
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The sign-in page."""
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in: email and password. Five failures for an account (twenty from an address) in
    fifteen minutes lock sign-in for it until the oldest ages out."""
    got = await form(request, request.cookies.get(LOGIN_COOKIE, ""))
    email, password = got.get("email", "").strip().lower(), got.get("password", "")
    address = request.client.host if request.client else "unknown"
    keys = [f"account:{email}", f"address:{address}"]
    known = signins(request)
    wait, counted = await run_in_threadpool(known.attempt, keys)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        said = (
            "Too many failed sign-ins for this account or from this address. "
            f"Try again in {minutes} min."
        )
        return _login_page(request, said, 429, email)
    service = service_of(request)
    user = await run_in_threadpool(service.identities.check_password, email, password)
    if user is not None and await run_in_threadpool(
        service.identities.password_expired, user.email
    ):  # a one-time password signs in once: only the sign-in that spends it goes on
        spent = await run_in_threadpool(service.identities.spend_one_time, user.email, password)
        user = user if spent else None
    if user is None:  # the attempt stays counted as a failure
        return _login_page(request, "That email and password do not match an account that may "
                                    "sign in.", 401, email)  # fmt: skip
    await run_in_threadpool(known.succeeded, counted)
    secret, _csrf = await run_in_threadpool(known.start, user.email)
    target = _local(got.get("next", "/"))
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    response.set_cookie(cookie_name(request), secret, httponly=True, samesite="strict", path="/",
                        secure=secure(request))  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session ends on the server, the cookie is cleared."""
    who = await visitor_or_expired(request)
    await form(request, who.session.csrf)
    await run_in_threadpool(signins(request).end, who.secret)
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    response.delete_cookie(cookie_name(request), path="/")
    return response


async def visitor_or_expired(request: Request) -> Visitor:
    """The signed-in person, even one who must still change a one-time password."""
    secret = request.cookies.get(cookie_name(request), "")
    session = await run_in_threadpool(signins(request).find, secret) if secret else None
    if session is None:
        raise Redirect("/login")
    return Visitor(session, secret)


@router.get("/password")
async def password_form(request: Request) -> Response:
    """Choose a new password (forced after a one-time password)."""
    who = await visitor_or_expired(request)
    return page("password.html", _password_context(who))


def _password_context(who: Visitor, message: str = "") -> dict[str, Any]:
    return {"title": "Choose a password", "who": who, "csrf": who.session.csrf, "pauses": [],
            "path": "/password", "forced": who.session.password_expired,
            "message": message}  # fmt: skip


@router.post("/password")
async def change_password(request: Request) -> Response:
    """Replace the password: the current one (not after a one-time password, which is spent),
    the new one twice. A wrong current password counts as a failed sign-in. Other sessions
    end."""
    who = await visitor_or_expired(request)
    got = await form(request, who.session.csrf)
    new = got.get("new", "")
    if new != got.get("again", ""):
        return page("password.html", _password_context(who, "The two new passwords differ."),
                    status=422)  # fmt: skip
    forced = who.session.password_expired
    known = signins(request)
    counted: list[int] = []
    if not forced:  # the current password is checked: as many guesses as sign-in allows
        wait, counted = await run_in_threadpool(known.attempt, [f"account:{who.email}"])
        if wait is not None:
            said = f"Too many wrong passwords; try again in {max(1, round(wait / 60))} min."
            return page("password.html", _password_context(who, said), status=429)
    identities = service_of(request).identities
    try:
        await run_in_threadpool(identities.change_password, who.email, got.get("current", ""),
                                new, forced=forced)  # fmt: skip
    except WatchkeeperError as exc:
        if "current password" not in str(exc):
            await run_in_threadpool(known.succeeded, counted)  # not a guess: a weak new one
        return page("password.html", _password_context(who, f"Not changed: {exc}."), status=422)
    await run_in_threadpool(known.succeeded, counted)
    await run_in_threadpool(known.end_others, who.email, who.secret)
    return RedirectResponse("/", status_code=303, headers=HEADERS)

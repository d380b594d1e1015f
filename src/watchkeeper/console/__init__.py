"""The web console, served by ``watchkeeper serve`` at ``/``: what people do in a browser.

Server-rendered pages (Jinja2; htmx, vendored, refreshes the inbox and the pause banner), usable
on a phone and without JavaScript. People sign in with their password (argon2id); a session is a
cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) with idle and absolute timeouts, every form
carries the session's token, and failed sign-ins are limited per account and per address. Agent
keys and personal tokens do not sign in here, and the cookie does not open the API.

- :mod:`~watchkeeper.console.render`: templates, escaping of what agents and people wrote, and
  the headers of every page;
- :mod:`~watchkeeper.console.access`: sign-in, sign-out, the forced password change, sessions and
  the forms' token;
- :mod:`~watchkeeper.console.common`: what every page shares (the pause banner, refusals, roles);
- a module per resource, each with its router: :mod:`~watchkeeper.console.approvals` (the inbox
  and each approval), :mod:`~watchkeeper.console.cases`, :mod:`~watchkeeper.console.audit`,
  :mod:`~watchkeeper.console.agents` (and pauses), :mod:`~watchkeeper.console.orders`,
  :mod:`~watchkeeper.console.scorecards` (and incidents).
"""

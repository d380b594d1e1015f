"""Pages from templates, with what agents and people wrote shown as text, and the headers every
page carries.

Text from agents and people (commands, comments, reasons, names) reaches the approver's screen.
Jinja2 escapes HTML; :func:`shown` goes further, as the terminal does
(:mod:`watchkeeper.terminal`): every character that is not plainly visible (bidi controls,
zero-width and other format characters, control characters) is shown as its escape in a marked
box, and letters of other scripts that read as Latin ones (``а`` for ``a``) are marked, so what
the approver reads is what would run::

    shown("rm -rf /srv\u202e")   # Markup('rm -rf /srv<span class="esc" …>\\u202e</span>')
    marked("rm -rf /srv && ls", [(0, 11, 1)])   # the first effect's span highlighted
"""

from __future__ import annotations

import datetime
import itertools
import time
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from watchkeeper import __version__
from watchkeeper.confusables import lookalike
from watchkeeper.terminal import escape as escaped_char
from watchkeeper.terminal import hides

#: Every page: no framing, scripts and styles from this server only, nothing cached, no
#: address of the page sent elsewhere.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


#: Punctuation that reads as ASCII punctuation: dashes and minus signs as ``-``, slashes as
#: ``/``, colons and semicolons, a one-dot leader as ``.``. Marked for the reader only: in
#: prose (a commit message) they are ordinary, so the analyzers do not hold them.
_READS_AS_ASCII = frozenset(
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2215\u2044\u29f8\u2024\u2236\u02d0\u0589"
    "\u05c3\ua789\u037e\u2039\u203a\u2032\u00b4\u02bc\u2018\u2019\u201c\u201d\u201a\u02d7"
    "\u2043\ufe52\ufe63\u2217\u2216\u01c0\u2223\u30fc\ua4fe\ua4ff\u2027\u00b7\u02c8"
)


def _piece(value: str, i: int, lines: bool = False) -> str:
    char = value[i]
    if lines and char in "\n\t":  # in a block of text: a line break is one, marked
        return '<span class="nl" aria-hidden="true">↵</span>\n' if char == "\n" else char
    if hides(value, i):
        code = escaped_char(char)
        return f'<span class="esc" title="hidden character U+{ord(char):04X}">{escape(code)}</span>'
    if lookalike(char) or char in _READS_AS_ASCII:
        title = f"U+{ord(char):04X}: not a Latin letter, though it reads as one"
        return f'<span class="lookalike" title="{title}">{escape(char)}</span>'
    return str(escape(char))


def shown(value: object, lines: bool = False) -> Markup:
    """``value`` as HTML text: escaped, with hidden and look-alike characters made visible;
    with ``lines`` (a block of text, in ``<pre>``) a line break stays one, marked ``↵``."""
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return escape(text)
    return Markup("".join(_piece(text, i, lines) for i in range(len(text))))


def block(value: object) -> Markup:
    """:func:`shown` for a block of text: line breaks kept."""
    return shown(value, lines=True)


def marked(value: str, spans: Iterable[tuple[int, int, int]]) -> Markup:
    """``value`` with each ``(start, end, n)`` span wrapped in a ``<mark>`` naming effect
    ``n``; overlapping spans are marked once, naming every effect that covers them."""
    cuts = {0, len(value)}
    ranges = [(max(0, s), min(len(value), e), n) for s, e, n in spans if 0 <= s < e]
    for start, end, _ in ranges:
        cuts.update((start, end))
    out = []
    edges = sorted(cuts)
    for start, end in itertools.pairwise(edges):
        covering = [n for s, e, n in ranges if s <= start and end <= e]
        part = shown(value[start:end], lines=True)
        if covering:
            names = " ".join(f"effect {n}" for n in covering)
            out.append(f'<mark title="{names}">{part}</mark>')
        else:
            out.append(str(part))
    return Markup("".join(out))


def when(epoch: object) -> str:
    """An epoch time as ``2026-12-04 03:12:09 UTC``."""
    try:
        at = float(str(epoch))
    except ValueError:
        return str(epoch)
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def left(epoch: object) -> str:
    """How long until ``epoch``: ``in 12 min``, ``passed``."""
    try:
        seconds = float(str(epoch)) - time.time()
    except ValueError:
        return ""
    if seconds <= 0:
        return "passed"
    if seconds < 90:
        return f"in {int(seconds)} s"
    if seconds < 5400:
        return f"in {round(seconds / 60)} min"
    return f"in {seconds / 3600:.1f} h"


_environment = Environment(
    loader=PackageLoader("watchkeeper.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(shown=shown, block=block, when=when, left=left)
_environment.globals.update(marked=marked, version=__version__)


def page(name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    """The template ``name`` rendered with ``context``, with :data:`HEADERS`."""
    body = _environment.get_template(name).render(**context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)

"""Text from agents, people and the database, printed on a terminal as text.

A comment, a command, a reason, a name: what an agent or a person wrote reaches the terminals
of the people who approve. Printed raw, it could act on the terminal instead of being read (an
ESC sequence that rewrites the screen, an OSC 8 link, U+009B as an 8-bit CSI), reorder what is
read (bidi controls such as U+202E), hide (zero-width and other format characters) or forge a
line of our own output. :func:`shown` keeps the text and makes each such character visible as
its escape::

    >>> shown("ok\\ndecision: approved \\x1b[2K")
    'ok\\\\ndecision: approved \\\\x1b[2K'
    >>> shown("café 日本 👍")
    'café 日本 👍'

**One field, one line.** A newline in a field is shown as ``\\n``, never printed: whatever
stands around a field on the screen (its label, its column, a table's border, the next line)
is then always ours. Indenting continuation lines instead would keep a long comment readable,
but an indented fake line can still be made to look like ours; ``--json`` has the text whole.

**Markup is never read from such text.** Rich would read ``[/bold]`` in a comment as markup
(and fail); text for Rich goes in a :class:`rich.text.Text` (:func:`text`), never into a
markup string. JSON output goes through :func:`json_text`, which escapes the same characters
the JSON way (``\\u202e``), so the document means exactly what it meant.

What is escaped: every control character (C0 with tab, newline and carriage return; DEL; C1,
U+0080–U+009F), lone surrogates, unassigned code points (a terminal with a newer Unicode table
may take one for a format character), line and paragraph separators, and what
:mod:`~watchkeeper.analyzers.confusables` calls invisible (format characters such as bidi
controls, zero-width characters and tags; odd spaces; Hangul fillers). A zero-width joiner
inside an emoji sequence is how the emoji is spelt and stays, as does a variation selector
right after the character it selects for (❤️, 1️⃣); one anywhere else hides data, and is shown.
A backslash stays itself, so paths and commands read as written: ``\\x1b`` on the screen may
also be four characters someone typed, and ``--json`` tells the two apart.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Rich is imported where text is printed, not by the store or the doors
    from rich.text import Text

from watchkeeper.confusables import invisible, joins_emoji, selects_nothing

_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Co", "Zl", "Zp"})
#: What may need escaping: in text, anything but printable ASCII; in JSON from ``json.dumps``,
#: anything but ASCII (it escapes C0 in strings itself; a C0 character left is its indent).
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_TEXT_SUSPECTS = re.compile(r"[^\x20-\x7e]")
_JSON_SUSPECTS = re.compile(r"[^\x00-\x7e]")


def _variation_selector(char: str) -> bool:
    return "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"


#: Marks and letters that print as nothing or as a blank, outside the categories above: the
#: combining grapheme joiner, Khmer inherent vowels, the blank braille pattern, the halfwidth
#: Hangul filler.
_BLANKS = frozenset("\u034f\u17b4\u17b5\u2800\uffa0\U0001d159")


def hides(value: str, i: int) -> bool:
    """Whether ``value[i]`` is not plainly visible, and must be shown as its escape."""
    char = value[i]
    if _variation_selector(char) or "\u180b" <= char <= "\u180f":
        # It selects a variant of the character before, if that one shows and has variants.
        if i == 0 or selects_nothing(value, i):
            return True
        before = value[i - 1]
        return before.isspace() or _variation_selector(before) or hides(value, i - 1)
    if char == "\u200d":
        return not joins_emoji(value, i)
    keycap = char == "\u20e3" and value[i - 1 : i] in ("\ufe0f", *"0123456789#*")  # 1️⃣
    if unicodedata.category(char) in ("Mn", "Me") and not keycap:
        # A mark drawn over ASCII (a strike, an overlay), one with nothing under it, or a
        # third and later mark on one letter (a stack drawn over the text around): shown apart.
        base, marks = _base_of(value, i)
        if base is None or base.isascii() or marks >= 2:
            return True
    return unicodedata.category(char) in _CATEGORIES or invisible(char) or char in _BLANKS


def _base_of(value: str, i: int) -> tuple[str | None, int]:
    """The character the combining mark at ``i`` sits on (``None``: none), and how many marks
    come before it on that character."""
    j = i - 1
    while j >= 0 and unicodedata.category(value[j]) in ("Mn", "Me"):
        j -= 1
    return (value[j] if j >= 0 else None), i - j - 1


def says_something(value: str) -> bool:
    """Whether ``value`` holds a character a reader sees: a reason or a note made only of
    spaces, zero-width or other hidden characters says nothing."""
    return any(not c.isspace() and not hides(value, i) for i, c in enumerate(value))


def escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _text_escape(match: re.Match[str]) -> str:
    return escape(match[0]) if hides(match.string, match.start()) else match[0]


def shown(value: object) -> str:
    """``value`` as text to print: every character that is not plainly visible, escaped."""
    return _TEXT_SUSPECTS.sub(_text_escape, str(value))


def text(value: object, style: str = "") -> Text:
    """``value`` for Rich: escaped as by :func:`shown`, and never read as markup."""
    from rich.text import Text

    return Text(shown(value), style=style)


def _json_escape(match: re.Match[str]) -> str:
    if not hides(match.string, match.start()):
        return match[0]
    code = ord(match[0])
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON spells a character beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON: readable non-ASCII text, the characters :func:`shown` escapes escaped.

    Only characters inside strings are escaped (``json.dumps`` writes ASCII outside them), so
    the document parses to exactly ``value``.
    """
    return _JSON_SUSPECTS.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=indent))

"""How counts and durations are said: one place, so no message says "1 errors" or "2 event",
and every duration a person writes (orders, flags, settings) reads the same way.

>>> plural(1, "event")
'1 event'
>>> plural(1042, "event")
'1,042 events'
>>> plural(2, "policy", "policies")
'2 policies'
>>> seconds("1h30m")
5400
>>> seconds("soon") is None
True
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, made plural (``many``, else ``word + "s"``) unless it is one."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def seconds(text: str) -> int | None:
    """A duration written ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``, in seconds; ``None`` if
    it is not one."""
    match = _DURATION.fullmatch(text.strip()) if text.strip() else None
    if match is None or not any(match.groups()):
        return None
    d, h, m, s = (int(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def suggest(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice (letter case first), or ``""``."""
    for choice in choices:
        if choice.lower() == word.lower() and choice != word:
            return f"; did you mean {choice!r}?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def kind_of(value: object) -> str:
    """What a JSON value is, as a message says it: ``a number``, ``a list``, ``an object``."""
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}  # fmt: skip
    return names.get(type(value), type(value).__name__)

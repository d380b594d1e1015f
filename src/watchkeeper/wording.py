"""How counts are said to people: one place, so no message says "1 errors" or "2 event".

>>> plural(1, "event")
'1 event'
>>> plural(1042, "event")
'1,042 events'
>>> plural(2, "policy", "policies")
'2 policies'
"""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, made plural (``many``, else ``word + "s"``) unless it is one."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"

"""Invisible and look-alike characters are found, with where they are."""

from __future__ import annotations

import pytest

from watchkeeper.analyzers.sql import statements
from watchkeeper.confusables import find
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param("rm\u200b -rf /", ["U+200B ZERO WIDTH SPACE at 2"], id="zero-width"),
        pytest.param("ls \u202etxt.exe", ["U+202E RIGHT-TO-LEFT OVERRIDE at 3"], id="bidi"),
        pytest.param(
            "DROP TABLE us\u0435rs", ["U+0435 CYRILLIC SMALL LETTER IE at 13"], id="cyrillic"
        ),
        pytest.param(
            "\uff53elect 1", ["U+FF53 FULLWIDTH LATIN SMALL LETTER S at 0"], id="fullwidth"
        ),
        pytest.param("echo\u00a0hi", ["U+00A0 NO-BREAK SPACE at 4"], id="odd-space"),
        pytest.param("tag\U000e0041", ["U+E0041 TAG LATIN CAPITAL LETTER A at 3"], id="tag"),
        pytest.param(
            "rm -rf /srv/d\ufe00ata",
            ["U+FE00 VARIATION SELECTOR-1 at 13"],
            id="selector-on-a-letter",
        ),
        pytest.param(
            "ls a\u180bb",
            ["U+180B MONGOLIAN FREE VARIATION SELECTOR ONE at 4"],
            id="mongolian-selector",
        ),
        pytest.param("curl api.\ua4d6ithub.com", ["U+A4D6 LISU LETTER GA at 9"], id="lisu"),
        pytest.param(
            "cat /etc/p\U0001d68asswd",
            ["U+1D68A MATHEMATICAL MONOSPACE SMALL A at 10"],
            id="mathematical",
        ),
        pytest.param("ls \u2160tem", ["U+2160 ROMAN NUMERAL ONE at 3"], id="numeral-letter"),
        pytest.param(
            "curl g\u0131thub.com", ["U+0131 LATIN SMALL LETTER DOTLESS I at 6"], id="dotless-i"
        ),
        pytest.param(
            "curl \u0261ithub.com", ["U+0261 LATIN SMALL LETTER SCRIPT G at 5"], id="script-g"
        ),
        pytest.param(
            "cat /etc/\u1d04onf", ["U+1D04 LATIN LETTER SMALL CAPITAL C at 9"], id="small-capital"
        ),
        pytest.param(
            "curl \u15c5pi.io", ["U+15C5 CANADIAN SYLLABICS CARRIER GHO at 5"], id="syllabics"
        ),
    ],
)
def test_suspicious_characters_are_found(text: str, found: list[str]) -> None:
    assert [f.describe() for f in find(text)] == found


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "café au lait",
        "Привет мир",
        "naïve\ttab\nline",
        "日本語のテキスト",
        "echo \u2764\ufe0f done",
        "keycap 1\ufe0f\u20e3",
        "git commit -m 'fix \u2014 typo'",
    ],
)
def test_ordinary_text_is_not_suspicious(text: str) -> None:
    assert find(text) == []


def test_findings_are_bounded() -> None:
    assert len(find("\u200b" * 1000)) == 20


def test_a_disguised_statement_is_obfuscated_and_denied() -> None:
    effects = statements("DROP TABLE us\u0435rs", "postgres")
    flagged = [e for e in effects if "confusable" in e.attributes]
    assert flagged[0].span is not None
    assert (flagged[0].span.start, flagged[0].span.end) == (13, 14)
    assert all("obfuscated" in e.flags for e in effects)
    d = Gateway(builtin()).decide(
        {"tool": "sql", "environment": "dev", "input": {"statement": "SELECT\u200b 1"}}
    )
    assert (d.decision, d.rules) == ("deny", ("no-obfuscated-execution",))

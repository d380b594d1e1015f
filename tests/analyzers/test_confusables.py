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
    ],
)
def test_suspicious_characters_are_found(text: str, found: list[str]) -> None:
    assert [f.describe() for f in find(text)] == found


@pytest.mark.parametrize(
    "text", ["SELECT 1", "café au lait", "Привет мир", "naïve\ttab\nline", "日本語のテキスト"]
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

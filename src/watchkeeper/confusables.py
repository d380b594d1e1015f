"""Invisible and confusable characters: text that does not run the way it reads.

Zero-width characters, bidirectional controls and other format characters change what a
command or statement does without changing how it looks; letters from another script
(Cyrillic ``а`` in ``rm -rf /tmp/а``) or fullwidth forms read as ASCII but are not::

    >>> [f.describe() for f in find("rm\\u200b -rf /")]
    ['U+200B ZERO WIDTH SPACE at 2']

Analyzers of executable text (SQL now, shell next) flag such input ``obfuscated`` and carry
the spans, so a person sees the exact characters that would run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_SCRIPTS = (
    "CYRILLIC",
    "GREEK",
    "ARMENIAN",
    "CHEROKEE",
    "COPTIC",
    "LISU",
    "CANADIAN SYLLABICS",
    "GEORGIAN",
    "TIFINAGH",
    "NKO",
    "VAI",
    "BAMUM",
    "OSAGE",
    "OLD ITALIC",
)
#: Latin letters with no decomposition that read as plain ones: ı as i, ɡ as g, ɑ as a, ᴄ as c.
_LATIN_DISGUISES = (
    "LATIN SMALL LETTER DOTLESS",
    "LATIN SMALL LETTER SCRIPT",
    "LATIN SMALL LETTER ALPHA",
    "LATIN CAPITAL LETTER ALPHA",
    "LATIN LETTER SMALL CAPITAL",
    "LATIN SMALL CAPITAL",
    "LATIN LETTER DENTAL",
    "LATIN SMALL LETTER TURNED",
    "LATIN LETTER RETROFLEX",
)
_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspicious character at ``index`` (code points) in the text."""

    index: int
    char: str
    why: str

    def describe(self) -> str:
        name = unicodedata.name(self.char, "UNNAMED")
        return f"U+{ord(self.char):04X} {name} at {self.index}"


def invisible(char: str) -> bool:
    """Whether ``char`` is printed as nothing, or as a blank that is not a space."""
    if char in "\t\n\r":
        return False
    category = unicodedata.category(char)
    # Cf: format characters (zero-width, bidi controls, tags); Zs other than a plain space.
    return category == "Cf" or (category == "Zs" and char != " ") or char in "\u115f\u1160\u3164"


def joins_emoji(text: str, i: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👨‍👩‍👧) is how the emoji is spelt."""
    if text[i] != "\u200d" or i == 0 or i + 1 >= len(text):
        return False
    before, after = text[i - 1], text[i + 1]
    if before == "\ufe0f" and i >= 2:  # 🏳️‍🌈: flag, variation selector, joiner, rainbow
        before = text[i - 2]
    return unicodedata.category(before) in ("So", "Sk") and unicodedata.category(after) == "So"


def selects_nothing(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a variation selector that selects no variant: one after a letter
    or digit that has none (``d\ufe00ata`` reads as ``data``), or a Mongolian free variation
    selector anywhere. After a symbol (❤️), a keycap's digit (1️⃣) or a CJK ideograph it is
    how that character is spelt."""
    char = text[i]
    if "\u180b" <= char <= "\u180f":
        return True
    if not ("\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"):
        return False
    before = text[i - 1] if i > 0 else ""
    if not before:
        return True
    if unicodedata.category(before) in ("So", "Sk"):
        return False
    if before in "0123456789#*" and text[i + 1 : i + 2] == "\u20e3":
        return False
    return not unicodedata.name(before, "").startswith("CJK")


def lookalike(char: str) -> bool:
    """Whether ``char`` reads as an ASCII letter or digit but is not one: a letter of another
    script (Cyrillic ``а``, Lisu ``ꓖ``), fullwidth ASCII, or a letter whose compatibility form
    is ASCII (mathematical ``𝚊``, the numeral ``Ⅰ``)."""
    if char.isascii():
        return False
    if "\uff01" <= char <= "\uff5e":  # fullwidth ASCII
        return True
    if not (char.isalpha() or unicodedata.category(char) in ("Nl", "Nd")):
        return False
    plain = unicodedata.normalize("NFKC", char)
    if plain.isascii() and plain.isalnum():
        return True
    name = unicodedata.name(char, "")
    if name.startswith(_LATIN_DISGUISES):
        return True
    return (char.isalpha() or unicodedata.category(char) == "Nd") and name.startswith(_SCRIPTS)


def find(text: str, limit: int = _LIMIT) -> list[Finding]:
    """The first ``limit`` suspicious characters in ``text``.

    A letter from another script counts only inside a word that also has ASCII letters: a whole
    word in Cyrillic is a word, a Cyrillic letter among Latin ones is a disguise.
    """
    out: list[Finding] = []
    if text.isascii():
        return out
    start = 0
    for i, char in enumerate(text + " "):
        if len(out) >= limit:
            break
        if char.isascii() and not char.isalnum():
            word = text[start:i]
            if any(c.isascii() and c.isalpha() for c in word):
                out.extend(
                    Finding(start + j, c, "looks like an ASCII letter")
                    for j, c in enumerate(word)
                    if lookalike(c)
                )
            start = i + 1
        if i < len(text) and (
            (invisible(char) and not joins_emoji(text, i)) or selects_nothing(text, i)
        ):
            out.append(Finding(i, char, "invisible"))
    return sorted(out, key=lambda f: f.index)[:limit]

"""Which words of a reader are the files it reads.

``grep root /etc/shadow`` reads ``/etc/shadow``, not ``root``; ``head -n 5 f`` reads ``f``, not
``5``; ``jq --rawfile k KEY '$k'`` takes ``KEY`` as an option's value. :func:`operands` skips
options and their values, and the pattern, program or filter a reader takes first unless an
option gives it (``grep -e P FILE``). Only the targets depend on these tables: every word of a
command is still looked at for credentials
(:func:`~watchkeeper.analyzers.invocation.names_credential`), so a value missed here adds a
target and hides nothing.
"""

from __future__ import annotations

from watchkeeper.analyzers.invocation import Invocation

#: Readers whose words are the files they read: one read per file, each flagged by its path.
FILE_READERS = frozenset(
    """
    ls cat head tail grep egrep fgrep zgrep zegrep zfgrep ag rg wc diff cmp stat file du df
    realpath readlink jq yq cut md5sum sha256sum sha1sum sha512sum base64 od hexdump strings
    column rev nl tac zcat bzcat xzcat fold paste comm join fmt pr expand unexpand look tsort
    lsattr getfacl awk gawk mawk nawk sed sort shuf uniq iconv xxd less more zless zmore bc
    """.split()
)
#: Readers whose first word is a pattern, a program or a filter, with the options that give it
#: instead (then every word is a file): ``grep PATTERN FILE…``, ``grep -e P -e Q FILE…``.
_PROGRAM_FIRST: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        "grep egrep fgrep zgrep zegrep zfgrep rg".split(),
        frozenset({"-e", "--regexp", "-f", "--file"}),
    ),
    "ag": frozenset(),
    "look": frozenset(),
    "jq": frozenset({"-f", "--from-file"}),
    "yq": frozenset({"--expression"}),
    **dict.fromkeys("awk gawk mawk nawk".split(), frozenset({"-f", "--file", "-E", "--exec"})),
    "sed": frozenset({"-e", "--expression", "-f", "--file"}),
    # Changers whose first word is a mode or an owner, unless a reference file gives it.
    **dict.fromkeys(("chmod", "chown", "chgrp"), frozenset({"--reference"})),
}


def _valued(words: str, count: int = 1) -> dict[str, int]:
    return dict.fromkeys(words.split(), count)


_GREP_VALUED = _valued(
    "-e -f -m -A -B -C -d -D --regexp --file --max-count --after-context --before-context "
    "--context --include --exclude --exclude-dir --exclude-from --label --binary-files "
    "--devices --group-separator"
)
#: Options that take the next words as their value (how many), by reader. A value missed here
#: only adds a target; every word is still looked at for credentials (``names_credential``).
_VALUED: dict[str, dict[str, int]] = {
    **dict.fromkeys("grep egrep fgrep zgrep zegrep zfgrep".split(), _GREP_VALUED),
    "rg": _valued(
        "-e -f -g -t -T -m -A -B -C -M -j -r -E -d --regexp --file --glob --iglob --type "
        "--type-not --max-count --after-context --before-context --context --max-columns "
        "--threads --replace --encoding --max-depth --type-add --type-clear --sort --sortr "
        "--colors --path-separator --context-separator --ignore-file --max-filesize --engine"
    ),
    "ag": _valued(
        "-A -B -C -G -g -m -p --ignore --ignore-dir --depth --file-search-regex --max-count "
        "--context --after --before --path-to-ignore"
    ),
    **dict.fromkeys(("head", "tail"), _valued("-n -c --lines --bytes --pid -s")),
    "cut": _valued("-d -f -b -c --delimiter --fields --bytes --characters --output-delimiter"),
    "jq": {
        **_valued("-f --from-file --indent -L"),
        **_valued("--arg --argjson --slurpfile --rawfile", 2),
    },
    "yq": _valued("-o -I -p --output-format --indent --input-format --expression"),
    **dict.fromkeys(
        "awk gawk mawk nawk".split(),
        _valued("-F -v -f -E -i -l --field-separator --assign --file --exec --include --load"),
    ),
    "sed": _valued("-e -f -l --expression --file --line-length"),
    **dict.fromkeys(
        ("sort", "shuf"),
        _valued(
            "-k -t -o -S -T -n --key --field-separator --output --buffer-size "
            "--temporary-directory --parallel --batch-size --head-count"
        ),
    ),
    "column": _valued("-s -o -c -t -N -l --separator --output-separator --table-columns"),
    **dict.fromkeys(
        ("od", "hexdump", "xxd", "strings", "fold", "nl", "pr"),
        _valued("-n -N -j -s -t -w -c -l -A -e -f -b --width --bytes"),
    ),
    "uniq": _valued("-f -s -w --skip-fields --skip-chars --check-chars"),
    "diff": _valued("-x -X -I -F -L --exclude --exclude-from --ignore-matching-lines --label"),
    "du": _valued("-d -B -t --max-depth --block-size --threshold --exclude --time-style"),
    "ls": _valued("-I -w -T --ignore --hide --width --tabsize --format --sort --time-style"),
    "truncate": _valued("-s -r --size --reference"),
}


def operands(run: Invocation) -> list[str]:
    """The files a reader reads: its words past options and their values, and past the pattern,
    program or filter that comes first unless an option gives it. ``--`` ends the options."""
    valued = _VALUED.get(run.base, {})
    program_first = run.base in _PROGRAM_FIRST
    given = _PROGRAM_FIRST.get(run.base, frozenset())
    if run.base == "yq" and run.args[:1] and run.args[0] in ("e", "eval", "ea", "eval-all"):
        args = run.args[1:]
    else:
        args = run.args
    out: list[str] = []
    skip = 0
    ended = False
    for a in args:
        if skip:
            skip -= 1
            continue
        if a is None:  # computed: a file nobody knows, or the program itself
            program_first = False
            continue
        if not ended and a == "--":
            ended = True
        elif not ended and a.startswith("-") and a != "-":
            name = a.split("=", 1)[0]
            if name in given or (a[:2] in given and not a.startswith("--")):
                program_first = False  # grep -e P FILE: the first word is a file
            skip = valued.get(a, 0)
        elif program_first:
            program_first = False
        else:
            out.append(a)
    return out

"""Commands that read: plain readers, pagers, and readers given a program or flags.

Each table here says a command reads, and only that says so (a command in no table is
``unknown``, never a read):

- :data:`READERS` read whatever their arguments: ``cat``, ``grep``, ``ls``, ``ps``.
- :data:`PAGERS` read files, but run commands given on their command line (``less +'!id'``)
  and take options that run a program or write a file (``man -P CMD``, ``less -o FILE``):
  :func:`pager` says read only when every argument is a file or a display option.
- :data:`PROGRAMMED` readers take a program (``awk``, ``sed``) or flags that write or run
  (``sort -o``, ``rg --pre``): :func:`programmed` says read once neither does.
- Servers and interpreters read in one form only: the version flags (``nginx -v``) and
  configuration checks (``nginx -t``, see :func:`config_check`) of their records in
  :mod:`~watchkeeper.analyzers.tools`.
"""

from __future__ import annotations

import re

from watchkeeper.analyzers.effects import Verb
from watchkeeper.analyzers.invocation import (
    Invocation,
    dynamic,
    effect,
    paths_of,
)
from watchkeeper.analyzers.operands import FILE_READERS, operands
from watchkeeper.analyzers.paths import discards, is_credential, path_flags
from watchkeeper.models import Effect

#: Commands that only read or print, whatever their arguments. No pager, editor, interpreter
#: or program that runs another belongs here (a test keeps it so); a reader with one writing
#: or running flag belongs in PROGRAMMED, with the code that finds it.
READERS = frozenset(
    """
    ls cat head tail grep egrep fgrep echo printf pwd whoami id wc diff cmp stat file du df
    ps top htop free uptime uname which type whereis realpath readlink basename dirname jq cut
    tr true false test sleep help locale nproc lsblk lscpu lsof netstat md5sum sha256sum
    sha1sum base64 od hexdump strings column seq yes rev nl tac cal who w zcat fold paste pstree
    comm bc join hash expr fmt pr expand unexpand look numfmt factor tsort lsusb lspci lsmod
    groups pgrep pidof apropos whatis zgrep zegrep bzcat xzcat lsattr getfacl findmnt blkid
    vmstat iostat mpstat last users tty getconf arch
    """.split()
)
#: Pagers: they read, unless their arguments give them commands (see :func:`pager`).
PAGERS = frozenset("less more zless zmore man info".split())
#: Readers whose program or flags can also write, run or reconfigure (see :func:`programmed`).
PROGRAMMED = frozenset(
    """
    sed awk gawk mawk nawk yq sort shuf iconv uniq pg_dump pg_dumpall mysqldump mongodump dmesg
    xxd rg ag tree history lastlog
    """.split()
)


def _read(run: Invocation, target: str | None) -> list[Effect]:
    # Its words are not files: whether one names a credential is names_credential's to say.
    return [effect("read", "file", target, reversible="yes", span=run.span)]


def reader(run: Invocation) -> list[Effect]:
    """A command of :data:`READERS`: a read of each file it names (of its first word when its
    words are not files: ``ps aux``, ``uname -a``)."""
    if run.base not in FILE_READERS:
        return _read(run, next(iter(paths_of(run)), None))
    files: list[str | None] = [*operands(run)] or [None]  # none: it reads its input
    return [
        effect("read", "file", f, reversible="yes", span=run.span,
               flags=["credential_access"] if f is not None and is_credential(f) else [])
        for f in files
    ]  # fmt: skip


#: Initial commands a pager may be given that only move or search: ``+42``, ``+G``, ``+/err``.
#: Anything else (``+!cmd``, ``+|cmd``, ``+v``, ``+s file``) runs a program or writes.
_MOVES_ONLY = re.compile(r"\+\+?(\d*[gGpP%]?|F|[/?][^\x00-\x1f!|]*)")
#: less options: those that take a value (the rest of a bundle is that value), those that write
#: a file (the log of what is read), and those that read key bindings, which can set LESSOPEN.
_LESS_VALUED = "bhjkoOpPtTxyzD#"
_LESS_WRITES = ("-o", "-O", "--log-file", "--LOG-FILE")
_LESS_RUNS = ("-k", "--lesskey-file", "--lesskey-src", "--lesskey-content")
#: man: a pager, a browser or a display program to run, or a configuration naming one.
_MAN_VALUED = "CPHMSemLlpRTrEK"
_MAN_RUNS = ("-P", "--pager", "-H", "--html", "-X", "--gxditview", "-C", "--config-file")
#: info: a file to write what it shows or the keys typed, or keys to replay.
_INFO_VALUED = "dfnor"
_INFO_WRITES = ("-o", "--output", "--dribble")
_INFO_RUNS = ("--init-file", "--restore")


def _option(arg: str, options: tuple[str, ...], valued: str) -> str | None:
    """Which of ``options`` ``arg`` is: a short one anywhere in a bundle (up to a letter that
    takes a value), a long one spelled out or abbreviated (``--log-f``), with or without
    ``=value``."""
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        return next(
            (o for o in options if o.startswith("--") and len(name) > 3 and o.startswith(name)),
            None,
        )
    if arg.startswith("-"):
        for c in arg[1:]:
            if f"-{c}" in options:
                return f"-{c}"
            if c in valued:
                break
    return None


def _value(run: Invocation, at: int, arg: str, option: str) -> str | None:
    """The value of ``option`` found in ``arg`` (attached, after ``=``, or the next word)."""
    if "=" in arg and arg.startswith("--"):
        return arg.split("=", 1)[1]
    rest = arg[arg.index(option[1]) + 1 :] if not arg.startswith("--") else ""
    if rest:
        return rest
    return run.args[at + 1] if at + 1 < len(run.args) else None


def pager(run: Invocation) -> list[Effect]:
    """less, more, zless, zmore, man, info: a read when every argument is a file or a display
    option. ``more`` is less on some systems, and zless/zmore run less: all follow less."""
    base = run.base
    runs: tuple[str, ...]
    writes: tuple[str, ...]
    if base == "man":
        runs, writes, valued = _MAN_RUNS, (), _MAN_VALUED
    elif base == "info":
        runs, writes, valued = _INFO_RUNS, _INFO_WRITES, _INFO_VALUED
    else:
        runs, writes, valued = _LESS_RUNS, _LESS_WRITES, _LESS_VALUED
    for i, a in enumerate(run.args):
        if a is None:  # `less "$X" f`: a computed word may be a command (+!…) or an option
            return [dynamic(f"{base} is given a word computed at run time", run.span)]
        if a == "--":
            break
        if a.startswith("+") and not _MOVES_ONLY.fullmatch(a):
            return [dynamic(f"{base} runs the command it is given ({a})", run.span)]
        option = _option(a, runs, valued)
        if option is not None:
            return [dynamic(f"{base} {option} runs a program or reads key bindings", run.span)]
        option = _option(a, writes, valued)
        if option is not None:
            path = _value(run, i, a, option)
            if path is None:
                return [dynamic(f"{base} {option} writes a file named at run time", run.span)]
            return [effect("overwrite", "file", path, reversible="no", flags=path_flags(path),
                           span=run.span)]  # fmt: skip
    return reader(run)


_AWK_RUNS = re.compile(r"\bsystem\s*\(|\|&?\s*getline|\bprint[f]?\b[^;{}]*\||@load\b|@include\b")
_AWK_WRITES = re.compile(r"\bprint[f]?\b[^;{}]*>")
#: awk options naming a program file or an extension library: code watchkeeper cannot see.
_AWK_UNSEEN = ("-f", "--file", "-E", "--exec", "-l", "--load", "--include")
_SED_COMMAND = re.compile(r"(^|[;\n{}])\s*(\d+|\$|/(?:\\.|[^/])*/)?\s*[wWe]\b")
_SED_FLAGS = re.compile(r"s(.)(?:\\.|(?!\1).)*\1(?:\\.|(?!\1).)*\1[a-zA-Z0-9]*[we]")
#: Where dumpers write instead of standard output.
_DUMP_OUTPUT = {
    "pg_dump": ("-f", "--file"),
    "pg_dumpall": ("-f", "--file"),
    "mysqldump": ("-r", "--result-file"),
    "mongodump": ("-o", "--out"),
}


def _output(known: list[str], short: str, long: str) -> str | None:
    """The value of ``-o FILE``, ``-oFILE`` or ``--output=FILE`` (for any pair of names)."""
    for i, a in enumerate(known):
        if a in (short, long) and i + 1 < len(known):
            return known[i + 1]
        if a.startswith(long + "="):
            return a.split("=", 1)[1]
        if a.startswith(short) and len(a) > len(short) and not a.startswith("--"):
            return a[len(short) :]
    return None


def _writes(path: str, run: Invocation, verb: Verb = "overwrite") -> list[Effect]:
    if discards(path):  # sort -o /dev/stdout
        return [effect("read", "file", None, reversible="yes", span=run.span)]
    return [effect(verb, "file", path, reversible="no" if verb == "overwrite" else "unknown",
                   flags=path_flags(path), span=run.span)]  # fmt: skip


def programmed(run: Invocation) -> list[Effect]:
    """A reader of :data:`PROGRAMMED`: what its program or flags do, else a read.

    ``sed 'e …'``, ``sed -i``, ``awk 'BEGIN{system(…)}'``, ``yq -i``, ``sort -o FILE``,
    ``uniq IN OUT``, ``rg --pre CMD``, ``tree -o FILE``, ``history -w``, ``dmesg -C``.
    """
    known = run.known()
    base = run.base
    flags = [a for a in known if a.startswith("-")]
    words = paths_of(run)
    files: list[str | None] = [*words[1:]] or [None]  # after the program or script
    if base == "sed":
        if any(a.startswith(("-i", "--in-place")) for a in known) or (
            any(a.startswith("-") and not a.startswith("--") and "i" in a[1:] for a in known)
        ):
            return [effect("update", "file", p, flags=path_flags(p or ""), span=run.span)
                    for p in files]  # fmt: skip
        if None in run.args or any(a in ("-f", "--file") or a.startswith("--file=") for a in known):
            return [dynamic("sed runs a script watchkeeper cannot see", run.span)]
        # Every word, as `-e` may give several scripts (a file named `w` is held, rarely).
        if any(_SED_COMMAND.search(w) or _SED_FLAGS.search(w) for w in words):
            return [dynamic("the sed script writes files or runs commands (w, e)", run.span)]
        return reader(run)
    if base in ("awk", "gawk", "mawk", "nawk"):
        if None in run.args or any(a.split("=", 1)[0] in _AWK_UNSEEN for a in flags):
            return [dynamic(f"{base} runs a program watchkeeper cannot see", run.span)]
        program = words[0] if words else ""
        if _AWK_RUNS.search(program):
            return [dynamic(f"the {base} program runs commands or loads code", run.span)]
        if _AWK_WRITES.search(program) or "-i" in known:
            return [dynamic(f"the {base} program writes files", run.span)]
        return reader(run)
    if base == "yq" and any(a in ("-i", "--inplace") or a.startswith("--inplace") for a in known):
        return [effect("update", "file", p, flags=path_flags(p or ""), span=run.span)
                for p in files]  # fmt: skip
    if base == "sort" and any(a.startswith("--compress-program") for a in known):
        return [dynamic("sort --compress-program runs a program", run.span)]
    if base == "rg" and any(a == "--pre" or a.startswith("--pre=") for a in known):
        return [dynamic("rg --pre runs a program on every file", run.span)]
    if base == "ag" and any(a == "--pager" or a.startswith("--pager=") for a in known):
        return [dynamic("ag --pager runs a program on what it prints", run.span)]
    out_file = _output(known, "-o", "--output")
    if base in ("sort", "shuf", "iconv", "tree") and out_file is not None:
        return _writes(out_file, run)
    dump_flags = _DUMP_OUTPUT.get(base)
    if dump_flags is not None:
        target = _output(known, *dump_flags)
        if base == "mongodump" and target is None:
            archive = next((a for a in known if a.startswith("--archive")), None)
            if archive is None:  # without --out or --archive it writes ./dump
                return _writes("dump", run)
            target = archive.split("=", 1)[1] if "=" in archive else None  # bare: stdout
        if target is not None and target != "-":
            return _writes(target, run)
    if base == "dmesg" and any(a in ("-c", "-C", "--clear", "--read-clear") for a in known):
        return [effect("delete", "host", None, reversible="no", flags=["privileged"],
                       span=run.span, why="clears the kernel log")]  # fmt: skip
    if base == "dmesg" and any(
        a.split("=", 1)[0] in ("-n", "--console-level", "-D", "--console-off", "-E",
                               "--console-on") for a in known
    ):  # fmt: skip
        return [effect("update", "host", None, flags=["privileged"], span=run.span,
                       why="changes what the kernel logs to the console")]  # fmt: skip
    given = operands(run)
    if base in ("xxd", "uniq") and len(given) >= 2:  # xxd [-r] IN OUT, uniq IN OUT write OUT
        return _writes(given[1], run)
    if base == "history" and any(a in ("-w", "-a") for a in known):
        path = next(iter(words), "~/.bash_history")  # without a file, $HISTFILE
        return _writes(path, run, "overwrite" if "-w" in known else "update")
    if base == "lastlog" and any(a in ("-C", "--clear", "-S", "--set") for a in known):
        return [effect("update", "host", None, flags=["privileged"], span=run.span,
                       why="changes the record of logins")]  # fmt: skip
    return reader(run)


#: Options that name the configuration to check, or add directives to it. A configuration can
#: load modules and scripts while it is read (nginx load_module, haproxy lua-load, Apache
#: LoadModule): one outside the system's own configuration, or given on the command line, is
#: code watchkeeper cannot see.
_CONFIG_NAMED = frozenset("-c -f -g -C -p -d --config --adapter".split())


def config_check(run: Invocation) -> list[Effect]:
    args = run.args[1:]
    if "--overwrite" in args:  # caddy fmt --overwrite rewrites the file
        return [effect("update", "file", None, reversible="unknown", span=run.span)]
    for i, a in enumerate(args):
        name = a.split("=", 1)[0] if a is not None else None
        if name not in _CONFIG_NAMED:
            continue
        value = a.split("=", 1)[1] if a is not None and "=" in a else (
            args[i + 1] if i + 1 < len(args) else None
        )  # fmt: skip
        if name in ("-g", "-C") or value is None or not value.startswith("/etc/"):
            return [dynamic(f"{run.base} checks a configuration watchkeeper cannot see", run.span)]
    return [effect("read", "file", None, reversible="yes", span=run.span)]


#: Linters that read the project and run none of its code (their configuration is data, not a
#: program: not eslint, pylint or mypy, whose configurations load plugins), by the subcommands
#: that only check (empty: whatever the words). A fixing or formatting flag, or a formatting
#: subcommand, rewrites the files.
LINTERS: dict[str, frozenset[str]] = {
    "golangci-lint": frozenset({"run", "linters", "config", "version", "help", "formatters"}),
    "ruff": frozenset({"check", "rule", "linter", "version", "help", "analyze"}),
    "shellcheck": frozenset(),
    "hadolint": frozenset(),
    "yamllint": frozenset(),
    "actionlint": frozenset(),
    "staticcheck": frozenset(),
}
_FIXES = frozenset({"--fix", "--write", "-w", "--fix-only", "--unsafe-fixes", "--add-noqa"})


def linter(run: Invocation) -> list[Effect]:
    """``golangci-lint run``, ``ruff check``, ``shellcheck x.sh``: a read of what they check;
    ``--fix`` (and ``ruff format``, ``golangci-lint fmt``) update the files in place."""
    known = run.known()
    checks = LINTERS[run.base]
    words = [a for a in known if not a.startswith("-")]
    fixes = any(a.split("=", 1)[0] in _FIXES and a != "--fix=false" for a in known)
    if fixes or (checks and words[:1] and words[0] not in checks):
        return [effect("update", "file", None, scope="many", reversible="unknown",
                       recovery="the version control history", span=run.span,
                       tool=run.base)]  # fmt: skip
    paths = (words[1:] if checks else words) or ["."]
    return [effect("read", "directory", p, reversible="yes", flags=path_flags(p), span=run.span)
            for p in paths]  # fmt: skip

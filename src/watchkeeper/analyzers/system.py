"""What system commands do: files, disks, processes, services, packages, network, databases.

Each function reads one :class:`~watchkeeper.analyzers.invocation.Invocation` and returns its
effects. ``find -exec`` runs another command, so it takes the dispatcher too.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any

from watchkeeper.analyzers import lazy
from watchkeeper.analyzers.effects import Flag, Reversible, Scope, TargetKind, Verb
from watchkeeper.analyzers.invocation import (
    SQL_CLIENTS,
    Invocation,
    computed,
    dynamic,
    effect,
    paths_of,
)
from watchkeeper.analyzers.locations import AGENTS_OWN, REBUILD, locate, regenerable
from watchkeeper.analyzers.operands import operands as operand_words
from watchkeeper.analyzers.paths import discards, home, path_flags
from watchkeeper.analyzers.secrets import secret_variable
from watchkeeper.models import Effect


def rm(run: Invocation) -> list[Effect]:
    known = run.known()
    if not run.args:  # `rm` alone: "missing operand", nothing removed
        return [effect("read", "file", None, reversible="yes", span=run.span)]
    recursive = any(
        re.fullmatch(r"-[a-zA-Z]*[rR][a-zA-Z]*", a) or a == "--recursive" for a in known
    )
    paths: list[str | None] = [*paths_of(run)] or [None]
    out = []
    for path in paths:
        wide = path in ("/", "/*", "~", "~/", ".", "*", "..") if path else False
        # node_modules, build, .venv: a rebuild or an install makes them again.
        again = None not in run.args and regenerable(path)
        out.append(
            effect(
                "delete",
                "directory" if recursive else "file",
                path,
                scope="all" if wide else ("many" if recursive else "one"),
                reversible="yes" if again else "no",
                recovery=REBUILD if again else "restore from a backup",
                flags=path_flags(path or "") + (["dynamic"] if None in run.args else []),
                span=run.span,
            )
        )
    return out


_RSYNC_VALUED = frozenset(
    """
    --exclude --include --filter -f --exclude-from --include-from --files-from --log-file
    --backup-dir --suffix --chmod --chown --port --timeout --bwlimit --max-size --min-size
    --compare-dest --copy-dest --link-dest --temp-dir -T --partial-dir --out-format
    --password-file --sockopts --usermap --groupmap --info --debug -B --block-size
    --max-delete --modify-window --contimeout --iconv --checksum-choice --compress-choice
    --compress-level --skip-compress --log-file-format --outbuf --remote-option -M
    """.split()
)


def rsync(run: Invocation) -> list[Effect]:
    """rsync: a dry run or a listing reads; ``--delete*`` removes what the source lacks."""
    known = run.known()
    for i, a in enumerate(run.args):  # -e/--rsh and --rsync-path name programs rsync runs
        value = None
        if a in ("-e", "--rsh") and i + 1 < len(run.args):
            value = run.args[i + 1] or "?"
        elif a is not None and a.startswith(("--rsh=", "--rsync-path")):
            value = a.split("=", 1)[1] if "=" in a else "?"
        if value is not None and value.split()[:1] not in (["ssh"], ["rsync"]):
            return [dynamic(f"rsync runs {value!r}", run.span)]
    shorts = ""  # the letters of real short-option bundles, not of option values
    skip = False
    for a in known:
        if skip:
            skip = False
        elif a in _RSYNC_VALUED:
            skip = True
        elif a.startswith("-") and not a.startswith("--"):
            shorts += a[1:]
    paths: list[str | None] = [*paths_of(run)] or [None]
    if "n" in shorts or any(a in ("--dry-run", "--list-only") for a in known) or len(paths) < 2:
        return [effect("read", "file", paths[0], reversible="yes", span=run.span)]
    destination = paths[-1]
    out = [effect("read", "file", p, reversible="yes", span=run.span) for p in paths[:-1]]
    if any(a.startswith("--delete") for a in known):  # what the source lacks, at the destination
        out.append(effect("delete", "file", destination, scope="many", reversible="no",
                          recovery="restore from a backup", span=run.span))  # fmt: skip
    if "--remove-source-files" in known:  # the sources, once sent
        out.extend(effect("delete", "file", p, scope="many", reversible="unknown",
                          recovery=f"copy them back from {destination}",
                          flags=path_flags(p or ""), span=run.span)
                   for p in paths[:-1])  # fmt: skip
    # host:path, user@host:path, rsync://host/: the files leave the machine.
    remote: list[Flag] = ["egress"] if destination and _REMOTE_PATH.match(destination) else []
    out.append(effect("overwrite", "file", destination, span=run.span,
                      flags=[*path_flags(destination or ""), *remote]))  # fmt: skip
    return out


_REMOTE_PATH = re.compile(r"^([\w.@-]+:(?!//)|rsync://)")
#: scp options that take the next word as their value.
_SCP_VALUED = frozenset("-c -D -F -i -J -l -o -P -S -X".split())


def scp(run: Invocation) -> list[Effect]:
    """scp SOURCE… DESTINATION: a file sent to a host when the destination is remote; fetched
    from one, a read there and a file written here; both local, a copy. ``-h`` and a missing
    operand print the usage."""
    args, words, i = run.args, [], 0
    while i < len(args):
        a = args[i]
        if a is not None and a.startswith("-") and a != "-":
            i += 2 if a in _SCP_VALUED else 1
            continue
        words.append(a)
        i += 1
    if len(words) < 2:
        return [effect("read", "process", "scp", reversible="yes", span=run.span)]
    *sources, destination = words
    if destination is None or _REMOTE_PATH.match(destination):
        return [effect("send", "file", p, flags=["egress", *path_flags(p or "")], span=run.span)
                for p in sources]  # fmt: skip
    fetched = [p for p in sources if p is None or _REMOTE_PATH.match(p)]
    out = [effect("read", "message", p, reversible="yes", flags=["egress"], span=run.span)
           for p in fetched]  # fmt: skip
    out += [effect("read", "file", p, reversible="yes", flags=path_flags(p), span=run.span)
            for p in sources if p is not None and p not in fetched]  # fmt: skip
    out.append(effect("overwrite", "file", destination, span=run.span,
                      flags=path_flags(destination)))  # fmt: skip
    return out


#: Options of cp, mv and install that take the next word as their value (``--backup``,
#: ``--preserve``, ``--reflink`` take one only after ``=``).
_COPY_VALUED = frozenset(
    "-t --target-directory -S --suffix -m --mode -o --owner -g --group --strip-program".split()
)


def copy(run: Invocation) -> list[Effect]:
    """cp, mv and install: the destination is written; the sources are read (``mv``: moved
    away, and back again by the reverse move). ``-t DIR`` names the destination first;
    ``install -d`` makes directories. A source that holds credentials is read whole (``cp -r
    ~/.ssh /tmp/x``)."""
    args, operands, target, named = run.args, [], None, False  # named: -t given
    directories = run.base == "install" and any(
        a == "--directory" or (a is not None and re.fullmatch(r"-[a-zA-Z]*d[a-zA-Z]*", a))
        for a in args
    )
    i = 0
    while i < len(args):
        a = args[i]
        if a is not None and a in ("-t", "--target-directory"):
            target, named = (args[i + 1] if i + 1 < len(args) else None), True
            i += 2
            continue
        if a is not None and a.startswith("--target-directory="):
            target, named = a.split("=", 1)[1], True
        elif a is not None and a.startswith("-") and not a.startswith("--") and len(a) > 2:
            # a bundle: -rt DIR, -tDIR, -m644; a letter that takes a value ends it
            valued = "tS" if run.base != "install" else "tSmog"
            at = next((j for j, c in enumerate(a[1:], start=1) if c in valued), None)
            value = None if at is None else (a[at + 1 :] or None)
            if at is not None and value is None:
                value = args[i + 1] if i + 1 < len(args) else None
                i += 1
            if at is not None and a[at] == "t":
                target, named = value, True
            i += 1
            continue
        elif a is not None and a.startswith("-") and a != "-":
            i += 2 if a in _COPY_VALUED else 1
            continue
        else:
            operands.append(a)
        i += 1
    if directories:  # install -d DIR…: each one created
        return [effect("create", "directory", p, reversible="yes", flags=path_flags(p or ""),
                       span=run.span) for p in operands or [None]]  # fmt: skip
    if not named and len(operands) >= 2:
        target, operands = operands[-1], operands[:-1]
    elif not named:  # one operand: "missing destination file operand"
        return [effect("read", "file", p, reversible="yes", flags=path_flags(p or "", tree=True),
                       span=run.span) for p in operands or [None]]  # fmt: skip
    moved = run.base == "mv"
    out = [
        effect(
            "delete" if moved else "read",
            "file",
            p,
            reversible="yes",
            recovery=f"move it back from {target}" if moved else None,
            flags=path_flags(p or "", tree=True),
            span=run.span,
        )
        for p in operands or [None]
    ]
    if run.base == "cp" and discards(target):  # cp x /dev/null writes through the device
        return out
    if run.base == "cp" and any(
        a in ("--symbolic-link", "--link")
        or (a is not None and re.fullmatch(r"-[a-zA-Z]*[sl][a-zA-Z]*", a) is not None)
        for a in args
    ):  # cp -s ~/.bashrc /tmp/b: a link, as ln makes it; a later write goes to the source
        out += _aimed_at(operands, target, run)
    out.append(effect("overwrite", "file", target, flags=path_flags(target or ""),
                      span=run.span))  # fmt: skip
    return out


def crontab(run: Invocation) -> list[Effect]:
    """``crontab -l`` (``-u USER -l``) prints a table; ``-e``, ``-r``, ``-i``, a file or ``-``
    installs or removes one: a privileged update of the host, whatever else is given."""
    args = list(run.args)
    if "-u" in args:  # the user whose table it is
        at = args.index("-u")
        del args[at : at + 2]
    if args == ["-l"]:
        return [effect("read", "host", None, reversible="yes", span=run.span,
                       why="lists the crontab")]  # fmt: skip
    paths: list[str | None] = [*paths_of(run)] or [None]
    return [effect("update", "host", p, flags=["privileged", *path_flags(p or "")],
                   span=run.span) for p in paths]  # fmt: skip


def tee(run: Invocation) -> list[Effect]:
    """tee writes its input into each file (``-a``: appends); ``/dev/null`` changes nothing."""
    append = any(a == "--append" or re.fullmatch(r"-[a-zA-Z]*a[a-zA-Z]*", a) for a in run.known())
    paths = [p for p in paths_of(run) if not discards(p)]
    if None in run.args:
        paths.append(None)  # type: ignore[arg-type]
    if not paths:
        return [effect("read", "file", None, reversible="yes", span=run.span)]
    return [effect("update" if append else "overwrite", "file", p, flags=path_flags(p or ""),
                   span=run.span) for p in paths]  # fmt: skip


def httpie(run: Invocation) -> list[Effect]:
    """HTTPie (``http POST :7700/indexes/x/search q=term``), read as curl reads."""
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    method = words[0] if words and words[0].isupper() and words[0].isalpha() else None
    rest = words[1:] if method else words
    url = rest[0] if rest else None
    items = rest[1:]
    files = [i for i in items if ("@" in i and "=@" in i) or i.startswith("@")]
    body = any("=" in i for i in items)
    as_curl: list[str | None] = ["-X", method or ("POST" if body else "GET")]
    as_curl += ["--data"] if body else []
    as_curl += [f"@{f}" for f in files]
    if url is not None:
        as_curl.append(url if "://" in url or url.startswith(":") else f"http://{url}")
    session: list[Effect] = []
    for i, a in enumerate(run.args):  # -o FILE writes the body there; a session path is a file
        value = run.args[i + 1] if i + 1 < len(run.args) else ""
        if a is not None and a.startswith(("--output=", "--session=", "--session-read-only=")):
            a, value = a.split("=", 1)
        if a in ("-o", "--output"):
            as_curl += ["-o", value]
        elif a == "--session" and (value is None or "/" in value or value.endswith(".json")):
            session.append(effect("update", "file", value, flags=path_flags(value or ""),
                                  span=run.span))  # fmt: skip
    return [*curl(dataclasses.replace(run, args=[*as_curl])), *session]


def interpreter(run: Invocation, flag: str) -> list[Effect]:
    """A one-liner (``python3 -c CODE``, ``node -e CODE``) read for what it does; a script or
    stdin it runs is unseen, and stdin from a decoder or a download is ``obfuscated``."""
    if flag in run.args:
        at = run.args.index(flag) + 1
        code = run.args[at] if at < len(run.args) else ""
        if code is None:
            return [computed(run, f"{run.base} {flag} runs code built at run time")]
    elif any(a is None or not a.startswith("-") for a in run.args) and not (
        run.args[-1:] and run.args[-1] in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")
    ):
        # A script, a module (-m json.tool) or <(…): stdin is the script's data, not code.
        if None in run.args:
            return [computed(run, f"{run.base} runs a script named at run time")]
        unseen = dynamic(f"{run.base} runs a script watchkeeper cannot see", run.span)
        if _project_script(run):
            return [unseen.with_attributes(runs="project")]  # python manage.py, node app.js
        return [unseen]
    else:
        code = run.stdin_text  # `python3 <<EOF … EOF`
        if code is None and run.stdin in ("decoded", "downloaded", "dynamic"):
            return [effect("execute", "process", None, flags=["obfuscated", "dynamic"],
                           span=run.span,
                           why=f"{run.stdin} text piped into {run.base}")]  # fmt: skip
        if code is None:
            return [dynamic(f"{run.base} runs what it reads from its input", run.span)]
    if _prints_only(run, flag, code):  # python3 -c 'print(1)', node -e 'console.log("ok")'
        return [effect("read", "process", None, reversible="yes", span=run.span,
                       why="a one-liner that prints literals")]  # fmt: skip
    out = []
    if re.search(r"(rmtree|os\.remove|unlink|rmSync|rm_rf|File\.delete|rmdir|truncate)", code):
        out.append(effect("delete", "file", None, scope="many", reversible="no", span=run.span))
    if re.search(r"(subprocess|os\.system|popen|exec|spawn|child_process|system\(|`)", code):
        out.append(effect("execute", "process", None, flags=["dynamic"], span=run.span))
    if re.search(r"(socket|urllib|requests|http|fetch\(|net\.|curl)", code):
        out.append(effect("send", "message", None, flags=["egress"], span=run.span))
    if re.search(r"(b64decode|base64|decode\(|fromCharCode|\\x[0-9a-f]{2}|eval\()", code, re.I):
        out.append(effect("execute", "process", None, flags=["obfuscated"], span=run.span))
    if _code_reads_secrets(code):  # os.environ["AWS_SECRET_ACCESS_KEY"], process.env
        why = "reads the environment or a secret in it"
        out.append(effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                          span=run.span, why=why))  # fmt: skip
    # Code given inline is code nobody has read: what the patterns above miss is still unseen.
    return out or [effect("execute", "process", None, flags=["dynamic"], span=run.span)]


#: A source file, by its name: what an interpreter given it runs is the project's code.
_SOURCE_FILE = re.compile(r"[\w./-]+\.(?:py|js|mjs|cjs|ts|rb|pl|php|sh|lua|R|r)")
#: Options that change nothing about which code an interpreter runs.
_PLAIN_RUN = frozenset({"-u", "-B", "-O", "-OO"})


def _project_script(run: Invocation) -> bool:
    """``python scripts/x.py``, ``node app.js``: a source file of the working tree, first,
    with no option before it that could make it code (``-Ic``, ``--eval``), and not written
    or downloaded earlier in the line."""
    i = 0
    while i < len(run.args) and run.args[i] in _PLAIN_RUN:
        i += 1
    script = run.args[i] if i < len(run.args) else None
    return (
        script is not None
        and _SOURCE_FILE.fullmatch(script) is not None
        and locate(script) == "workspace"
        and not run.written(script)[0]
        and run.payload_of(script) is None
    )


#: A string or number written out: no escapes, interpolation, quotes or backticks inside.
_LITERAL = r"""(?:-?\d+(?:\.\d+)?|'[^'"\\`$\n]*'|"[^'"\\`$\n]*")"""
#: Perl's and Ruby's double-quoted strings interpolate code ("@{[…]}", "#{…}"): only their
#: single-quoted strings and numbers are plain.
_SINGLE_QUOTED = r"""(?:-?\d+(?:\.\d+)?|'[^'"\\`$\n]*')"""


@dataclasses.dataclass(frozen=True, slots=True)
class _Printer:
    """How a language prints: its calls, the literals that are plain in it, and the options
    that change nothing a one-liner does (not ``-i``: it then runs its input as code)."""

    calls: str
    literal: str
    quiet: frozenset[str] = frozenset()
    bare: bool = False  # the call may go without parentheses: `puts 'x'`, `print 'x'`


_PYTHON = _Printer("print", _LITERAL, frozenset({"-I", "-E", "-s", "-S", "-B", "-u", "-q"}))
_PRINTS = {
    **dict.fromkeys(("python", "python3", "python2"), _PYTHON),
    **dict.fromkeys(("node", "nodejs", "bun"), _Printer(r"console\.log", _LITERAL)),
    "ruby": _Printer("puts|print|p", _SINGLE_QUOTED, frozenset({"-w", "-W"}), bare=True),
    "perl": _Printer("print", _SINGLE_QUOTED, frozenset({"-w", "-W"}), bare=True),
}
#: Variables that load code at start-up, before the one-liner.
_STARTUP = re.compile(r"^(PYTHON|NODE_|LD_|BUN_|RUBY|PERL)")


def _prints_only(run: Invocation, flag: str, code: str) -> bool:
    """Whether the code given to ``-c``/``-e``, or on stdin (``python3 <<EOF``), is nothing but
    prints of literals."""
    printer = _PRINTS.get(run.base)
    if printer is None or any(_STARTUP.match(k) for k in run.variables):
        return False
    if flag in run.args:
        at = run.args.index(flag)
        if run.args[at + 2 :] or any(a not in printer.quiet for a in run.args[:at]):
            return False
    elif any(a not in printer.quiet and a != "-" for a in run.args):
        return False
    lits = rf"{printer.literal}(?:\s*,\s*{printer.literal})*"
    bare = rf"|\s+{lits}" if printer.bare else ""
    printed = rf"\s*(?:{printer.calls})(?:\(\s*(?:{lits})?\s*\){bare})\s*"
    return re.fullmatch(rf"(?:{printed}[;\n])*{printed};?\s*", code) is not None


#: How one-liners read the environment: the whole of it, or one variable by name (group 1).
_CODE_ENVIRONMENT = re.compile(
    r"(?:os\.environ|process\.env|\bENV|\$ENV|getenv|System\.getenv|os\.Getenv|env::var)"
    r"(?:\s*(?:\.get\(|\[|\{|\(|\.)\s*['\"]?(\w+))?"
)


def _code_reads_secrets(code: str) -> bool:
    """The whole environment (``print(os.environ)``), or a variable named for a secret."""
    for found in _CODE_ENVIRONMENT.finditer(code):
        name = found.group(1)
        if name is None or name in ("items", "keys", "values", "copy", "to_h", "each", "entries"):
            return True
        if secret_variable(name):
            return True
    return False


#: SQL clients' options that only print (a list of databases, the version), and those that
#: run SQL from a file watchkeeper cannot see.
_SQL_PRINTS = frozenset({"-l", "--list", "-V", "--version", "-version", "--help", "-help"})
_SQL_FILES = frozenset({"-f", "--file", "-i", "--input-file", "-init", "--init-command",
                        "--queries-file", "-source"})  # fmt: skip


#: Client options that write their value's file (`psql -o FILE`, `mysql --tee=FILE`).
_SQL_WRITES = frozenset({"-o", "--output", "-L", "--log-file", "--tee"})
#: Client options that run a program or more commands beside the SQL given.
_SQL_RUNS = frozenset({"--pager", "-cmd", "-init", "--init-command", "-source"})


def sql_client(run: Invocation) -> list[Effect]:
    """psql -c, mysql -e, sqlite3 DB SQL: the SQL analyzer reads the statements. Without SQL on
    the command line a client runs what it reads (a file, its input, a session). Options that
    write a file or run more (``psql -o FILE``, ``mysql --pager``, ``sqlite3 -cmd``) count too.
    """
    found = [*_statements(run), *_client_options(run)]
    host = _server(run)  # none given: a socket, PGHOST, a service file: wherever it points
    if host is None:
        return found
    return [e.with_attributes(host=host) if e.target.kind in _DB_KINDS else e for e in found]


_DB_KINDS = frozenset({"db_table", "db_rows"})


_LOCAL_SERVERS = frozenset({"localhost", "127.0.0.1", "::1", ""})
_URL_HOST = re.compile(r"^[a-z+]+://(?:[^@/]*@)?(\[[^\]]*\]|[^:/?]*)")


def _server(run: Invocation) -> str | None:
    """The server a SQL client connects to, when the line names one: ``-h``, ``--host``,
    ``host=``, a URL, or ``PGHOST``/``MYSQL_HOST`` set for it (``?`` when computed)."""
    for name in ("PGHOST", "MYSQL_HOST"):
        if name in run.variables:
            return run.variables[name] or "?"
    args = run.args
    for i, a in enumerate(args):
        if a is None:
            continue
        value: str | None = None
        if a in ("-h", "--host", "-H", "-S", "--server") and i + 1 < len(args):
            value = args[i + 1] or "?"
        elif a.startswith(("--host=", "host=")):
            value = a.split("=", 1)[1]
        elif a.startswith("-h") and len(a) > 2 and run.base != "sqlite3":
            value = a[2:]
        elif "://" in a:
            match = _URL_HOST.match(a)
            value = match.group(1) if match else "?"
        if value is not None and run.base != "sqlite3":
            return "localhost" if value in _LOCAL_SERVERS else value
    return None


def _client_options(run: Invocation) -> list[Effect]:
    out: list[Effect] = []
    args = run.args
    for i, a in enumerate(args):
        if a is None:
            continue
        option, eq, value = a.partition("=") if a.startswith("--") else (a, "", "")
        target: str | None = value if eq else (args[i + 1] if i + 1 < len(args) else "")
        if option in _SQL_WRITES and target is None:
            out.append(dynamic(f"{run.base} {option} writes a file named at run time", run.span))
        elif option in _SQL_WRITES and target and not discards(target):
            out.append(effect("overwrite", "file", target, reversible="no",
                              flags=path_flags(target), span=run.span))  # fmt: skip
        elif option in _SQL_RUNS or (a.startswith("--pager") and run.base != "psql"):
            out.append(dynamic(f"{run.base} {option} runs more than the SQL given", run.span))
    return out


def _statements(run: Invocation) -> list[Effect]:
    args = run.args
    flags = SQL_CLIENTS[run.base]
    text: str | None = ""
    for i, a in enumerate(args):
        if a in flags:
            text = args[i + 1] if i + 1 < len(args) else ""
        elif a is not None and any(a.startswith(f + "=") for f in flags if f.startswith("--")):
            text = a.split("=", 1)[1]
    if run.base == "sqlite3":
        positional = [a for a in args if a is None or not a.startswith("-")]
        text = positional[1] if len(positional) > 1 else ""
    if text is None:
        return [dynamic(f"{run.base} runs SQL built at run time", run.span)]
    if text:
        dialect = {
            "psql": "postgres",
            "sqlite3": "sqlite",
            "sqlcmd": "tsql",
            "clickhouse-client": "clickhouse",
        }.get(run.base, "mysql")
        return lazy.statements(text, dialect, run.span)
    known = run.known()
    if any(a.split("=", 1)[0] in _SQL_FILES for a in known):
        return [dynamic(f"{run.base} runs SQL from a file watchkeeper cannot see", run.span)]
    if run.stdin is not None:
        return [dynamic(f"{run.base} reads SQL from its input", run.span)]
    if any(a in _SQL_PRINTS for a in known):  # they print and exit
        return [effect("read", "db_rows", None, reversible="yes", span=run.span)]
    return [dynamic(f"{run.base} without SQL is a session: whatever is typed runs", run.span)]


def bq_query(run: Invocation) -> list[Effect]:
    """``bq query 'SQL'``: BigQuery runs whatever statement it is given (DML and DDL too)."""
    words = [a for a in run.args if a is None or not a.startswith("-")]
    text = words[-1] if len(words) > 1 else ""
    if text is None:
        return [dynamic("bq query runs SQL built at run time", run.span)]
    if not text:
        return [dynamic("bq query reads SQL from its input", run.span)]
    return lazy.statements(text, "bigquery", run.span)


def simple(
    verb: Verb,
    kind: TargetKind,
    reversible: Reversible = "unknown",
    flags: Sequence[Flag] = (),
    scope: Scope = "one",
    **attributes: Any,
) -> Callable[[Invocation], list[Effect]]:
    """One effect per path argument (or one without a target), with ``attributes``."""

    def build(run: Invocation) -> list[Effect]:
        # chmod 755 x, truncate -s 0 x: the mode, owner or size is not a path
        paths: list[str | None] = [*operand_words(run)] or [None]
        return [
            effect(
                verb,
                kind,
                p,
                scope=scope,
                reversible=reversible,
                flags=[*flags, *path_flags(p or "")],
                span=run.span,
                **attributes,
            )
            for p in paths
        ]

    return build


def dd(run: Invocation) -> list[Effect]:
    out = next((a[3:] for a in run.known() if a.startswith("of=")), None)
    if out is None or discards(out):  # dd if=/dev/sda of=/dev/null reads the disk
        return [effect("read", "file", None, reversible="yes", span=run.span)]
    return [
        effect(
            "overwrite",
            "host" if out.startswith("/dev/") else "file",
            out,
            reversible="no",
            span=run.span,
        )
    ]


def curl(run: Invocation) -> list[Effect]:
    known = run.known()
    urls = [a for a in known if "://" in a or a.startswith(":")]
    several = len(urls) > 1 or any(a in ("-:", "--next") for a in known)
    attached = any(
        (a.startswith(("-d", "-F", "-T")) and len(a) > 2 and not a.startswith("--"))
        or a.startswith(("--json", "--form", "--data", "--upload"))
        for a in known
    )
    sends = (
        attached
        or any(
            a
            in (
                "-d",
                "--data",
                "--data-binary",
                "--data-raw",
                "-F",
                "--form",
                "-T",
                "--upload-file",
                "--post-data",
                "--post-file",
            )
            or a.startswith(("--data", "--post-", "--upload", "-d@"))
            for a in known
        )
        or _method(known) not in (None, "GET", "HEAD", "OPTIONS")
    )
    for a in run.args:  # options and commands read from a file or a string
        if a is not None and a.split("=", 1)[0] in _CURL_CONFIG.get(run.base, ()):
            return [dynamic(f"{run.base} {a} reads options watchkeeper cannot see", run.span)]
    url = urls[0] if urls else None
    if sends and not several and _queries(url, known):  # one query, nothing chained after it
        sends = False
    return [
        effect(
            "send" if sends else "read",
            "message",
            url,
            flags=["egress"],  # a file it sends is a credential by its name (names_credential)
            span=run.span,
        ),
        *_saved(run, url),
        *_logged(run),
    ]


#: Options through which curl or wget take more options or commands (``-K FILE``,
#: ``wget -e 'output_document=…'``).
_CURL_CONFIG = {
    "curl": ("-K", "--config"),
    "wget": ("-e", "--execute", "--config"),
}
#: Files curl and wget write beside the download: headers, cookies, traces, logs.
_CURL_WRITES = {
    "curl": ("-D", "--dump-header", "-c", "--cookie-jar", "--trace", "--trace-ascii",
             "--stderr", "--libcurl", "--etag-save", "--hsts", "--alt-svc"),
    "wget": ("-a", "--append-output", "--output-file", "--save-cookies", "--warc-file"),
}  # fmt: skip


#: curl's `-w '%output{FILE}…'` (since 8.3): what follows is written to FILE.
_WRITE_OUT_FILE = re.compile(r"%output\{(>>)?([^}]*)\}")


def _logged(run: Invocation) -> list[Effect]:
    out = []
    for i, a in enumerate(run.args):
        template = None
        if run.base == "curl" and a in ("-w", "--write-out"):
            template = run.args[i + 1] if i + 1 < len(run.args) else ""
        elif run.base == "curl" and a is not None and a.startswith(("-w", "--write-out=")):
            template = a.split("=", 1)[1] if a.startswith("--") else a[2:]
        for found in _WRITE_OUT_FILE.finditer(template or ""):
            path = found.group(2)
            if discards(path):
                continue
            out.append(effect("update" if found.group(1) else "overwrite", "file", path,
                              reversible="no", flags=path_flags(path), span=run.span))  # fmt: skip
        name = a.split("=", 1)[0] if a is not None else None
        if name not in _CURL_WRITES.get(run.base, ()) or a is None:
            continue
        path = (
            a.split("=", 1)[1] if "=" in a else (run.args[i + 1] if i + 1 < len(run.args) else "")
        )
        if path is None:
            out.append(dynamic(f"{run.base} {name} writes a file named at run time", run.span))
        elif path not in ("", "-", "%") and not discards(path):
            out.append(effect("overwrite", "file", path, reversible="no", flags=path_flags(path),
                              span=run.span))  # fmt: skip
    return out


_VALUED_SHORT = frozenset("dHXuAeFTbcKmrwxyYzCEQPaeUt")


def _saved(run: Invocation, url: str | None) -> list[Effect]:
    """Where a download lands: ``curl -o FILE``, ``wget -O FILE`` (``-`` is standard output),
    ``curl -O``/plain ``wget`` (a file named after the URL, in the working directory)."""
    args = run.args
    for i, a in enumerate(args):
        value: str | None = None
        if a in ("-o", "--output", "--output-document") or (a == "-O" and run.base == "wget"):
            if i + 1 >= len(args):
                break
            value = args[i + 1]
            if value is None:
                return [dynamic("a download to a file named at run time", run.span)]
        elif a is not None and a.startswith(("--output=", "--output-document=")):
            value = a.split("=", 1)[1]
        elif a is not None and a.startswith("-") and not a.startswith("--"):
            # Bundles: curl -sSLo FILE, -ofile; wget -qO-, -qO FILE.
            letter = "o" if run.base == "curl" else "O"
            for j, c in enumerate(a[1:], start=2):
                if c == letter:
                    value = a[j:] or (args[i + 1] if i + 1 < len(args) else None)
                    if value is None:
                        return [dynamic("a download to a file named at run time", run.span)]
                    break
                if c in _VALUED_SHORT:  # -Hcontent-type: the rest is that flag's value
                    break
        if value is not None:
            if value == "-" or discards(value):  # -o /dev/null: the body is thrown away
                return []
            return [effect("overwrite", "file", value, reversible="no", flags=path_flags(value),
                           span=run.span, downloaded=True)]  # fmt: skip
    remote_name = run.base == "wget" or any(
        a in ("-O", "--remote-name", "--remote-name-all") for a in run.known()
    )
    if remote_name and run.base in ("curl", "wget") and url is not None:
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "index.html"
        return [effect("create", "file", name, flags=path_flags(name), span=run.span,
                       downloaded=True)]  # fmt: skip
    return []


#: Endpoints that answer a query sent in a POST body and change nothing: search engines'
#: (Elasticsearch, OpenSearch, Meilisearch, Algolia, Typesense) and GraphQL-less query APIs.
_QUERY_ENDPOINTS = frozenset(
    """
    _search _msearch _count _mget _field_caps _explain _validate _termvectors _mtermvectors
    _rank_eval _search_shards search query queries multi-search browse
    """.split()
)
_FILE_BODY = ("-T", "--upload-file", "-F", "--form")


def _queries(url: str | None, known: list[str]) -> bool:
    """A POST that only asks: a query endpoint, with a body written out in the command.

    A body read from a file (``-d @dump.sql``) could carry anything out, whatever the path.
    """
    if url is None or _method(known) not in (None, "POST", "GET"):
        return False
    if any(a in _FILE_BODY or a.startswith(("@", "-d@")) or "=@" in a for a in known):
        return False
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    return last in _QUERY_ENDPOINTS or path.lower().endswith("/_validate/query")


def _method(known: list[str]) -> str | None:
    for i, a in enumerate(known):
        if a in ("-X", "--request", "--method") and i + 1 < len(known):
            return known[i + 1].upper()
        if a.startswith(("-X", "--request=", "--method=")) and len(a) > 2:
            return a.split("=", 1)[-1].removeprefix("-X").upper()
    return None


#: redis-cli commands that only read. Any other command writes, runs Lua, loads a module or
#: reconfigures the server.
REDIS_READS = frozenset(
    """
    get mget hget hgetall hkeys hvals hlen hexists hmget hstrlen getrange strlen keys scan hscan
    sscan zscan exists ttl pttl expiretime pexpiretime type llen lrange lindex lpos smembers
    scard sismember smismember srandmember zrange zrangebyscore zrangebylex zrevrange
    zrevrangebyscore zcard zscore zmscore zcount zlexcount zrank zrevrank xlen xrange xrevrange
    xinfo xpending bitcount getbit bitpos pfcount geopos geodist geohash geosearch info ping
    echo dbsize time lastsave role object pubsub command
    """.split()
)
#: redis-cli modes that only read (``--bigkeys``, ``--stat``): no command needed.
_REDIS_MODES = frozenset(
    "--stat --bigkeys --memkeys --hotkeys --latency --latency-history --latency-dist --scan "
    "--intrinsic-latency".split()
)
_REDIS_VALUED = frozenset(
    "-h -p -s -a -u -n -r -i -d -D --user --pass --cacert --cacertdir --cert --key --sni "
    "--tls-ciphers --tls-ciphersuites --pattern --quoted-pattern --count --memkeys-samples "
    "--pipe-timeout --intrinsic-latency".split()
)
_REDIS_RUNS = frozenset(
    "eval evalsha eval_ro evalsha_ro fcall fcall_ro function script module".split()
)


def redis(run: Invocation) -> list[Effect]:
    """redis-cli: a read only for a command of :data:`REDIS_READS` or a reading mode."""
    known = run.known()
    i, words = 0, []
    while i < len(known):
        a = known[i]
        if a in ("--eval", "--rdb", "--functions-rdb"):
            value = known[i + 1] if i + 1 < len(known) else None
            if a == "--eval" or value is None:
                return [dynamic(f"redis-cli {a} runs or writes a file", run.span)]
            return [effect("overwrite", "file", value, reversible="no", flags=path_flags(value),
                           span=run.span)]  # fmt: skip
        if a.startswith("-"):
            i += 2 if a in _REDIS_VALUED else 1
            continue
        words = [w.lower() for w in known[i:]]
        break
    command = words[0] if words else ""
    if command in ("flushall", "flushdb"):
        return [effect("delete", "db_rows", None, scope="all", reversible="no", span=run.span)]
    if command in ("del", "unlink", "getdel", "hdel", "srem", "zrem", "lrem", "xdel", "ltrim"):
        return [effect("delete", "db_rows", None, scope="many", reversible="no", span=run.span)]
    if command in REDIS_READS or words[:2] == ["config", "get"]:
        return [effect("read", "db_rows", None, reversible="yes", span=run.span)]
    if not words and any(a in _REDIS_MODES for a in known):
        return [effect("read", "db_rows", None, reversible="yes", span=run.span)]
    if command in _REDIS_RUNS:
        return [effect("execute", "process", None, flags=["dynamic"], span=run.span,
                       why=f"redis {command} runs server-side code")]  # fmt: skip
    if not words:
        return [dynamic("redis-cli without a command runs what it reads or is typed", run.span)]
    # set, hset, expire, rename, config set, replicaof, shutdown, client kill, …
    return [effect("update", "db_rows", None, reversible="unknown", span=run.span,
                   command=command)]  # fmt: skip


def mongo(run: Invocation) -> list[Effect]:
    joined = " ".join(run.known())
    if re.search(r"drop(Database)?\(|deleteMany|remove\(", joined):
        return [effect("delete", "db_rows", None, scope="many", reversible="no", span=run.span)]
    return [dynamic("mongo runs JavaScript", run.span)]


def powershell(run: Invocation) -> list[Effect]:
    known = run.known()
    joined = " ".join(known).lower()
    if any(a.lower() in ("-encodedcommand", "-enc", "-e", "-ec") for a in known):
        return [effect("execute", "process", None, flags=["obfuscated", "dynamic"], span=run.span)]
    if "remove-item" in joined or "rm -r" in joined or "format-volume" in joined:
        return [effect("delete", "directory", None, scope="many", reversible="no", span=run.span)]
    return [dynamic("PowerShell script", run.span)]


def windows_delete(run: Invocation) -> list[Effect]:
    return [
        effect(
            "delete",
            "directory" if run.base in ("rmdir", "rd") else "file",
            next(iter(paths_of(run)), None),
            scope="many",
            reversible="no",
            span=run.span,
        )
    ]


#: Names and patterns that take watchkeeper's own processes with them: the hook in front of
#: every tool call is a Python program run by a shell, and Claude Code runs the tool when its
#: hook dies without answering.
_GUARD_PROCESSES = re.compile(
    r"watchkeeper|installed.by|hook.claude|^(python[0-9.]*|sh|bash|dash|zsh)$", re.IGNORECASE
)


def kill(run: Invocation) -> list[Effect]:
    """``kill``, ``pkill``, ``killall``: a process ends. By a name or pattern that can match
    watchkeeper's own processes (``pkill -f watchkeeper``, ``killall python3``), or with the
    processes chosen at run time by such a pattern, it is tampering with the guard."""
    words = [a for a in run.args if a is None or not a.startswith("-")]
    if run.base == "kill" and None in words:  # kill $(pgrep -f …): which, is seen only then
        return [dynamic("kill of processes chosen at run time", run.span)]
    if run.base in ("pkill", "killall") and any(
        w is None or _GUARD_PROCESSES.search(w) for w in words
    ):
        return [effect("delete", "process", None, reversible="unknown", flags=["guard_tamper"],
                       span=run.span, why="it can stop watchkeeper's own processes")]  # fmt: skip
    return [effect("delete", "process", None, reversible="unknown", span=run.span)]


#: Directories on the usual search path: a name put there shadows a program.
_ON_PATH = re.compile(r"^(/usr(/local)?|~(/\.local)?|/opt/[^/]+)?/s?bin(/|$)")


def _aimed_at(sources: Sequence[str | None], link: str | None, run: Invocation) -> list[Effect]:
    """A link in the agent's own space to a file outside it: ``ln -s /etc/passwd /tmp/x``
    (or ``cp -s``) makes a later ``echo … > /tmp/x`` write ``/etc/passwd``, so the link is an
    update of its source."""
    if locate(link) not in AGENTS_OWN:
        return []
    return [
        effect("update", "file", source, reversible="unknown", flags=path_flags(source or ""),
               span=run.span, why=f"{link} would lead later writes to it")
        for source in sources
        if locate(source) not in AGENTS_OWN
    ]  # fmt: skip


def link(run: Invocation) -> list[Effect]:
    """``ln``: a new name, reversible; with ``-f`` it replaces whatever held that name."""
    known = run.known()
    force = any(
        a == "--force" or (a.startswith("-") and not a.startswith("--") and "f" in a[1:])
        for a in known
    )
    words = paths_of(run)
    target = words[-1] if words else None
    if any(a is None for a in run.args):  # ln -s "$(echo .claude)" d: a link to where?
        return [dynamic("a link whose source or name is computed at run time", run.span)]
    if target is not None and _ON_PATH.match(home(posixpath.normpath(target))):
        # ln -s /bin/rm /usr/local/bin/ls: every later `ls` runs it
        return [effect("create", "file", target, reversible="yes", flags=["privileged"],
                       span=run.span, why="a program on the search path")]  # fmt: skip
    aimed = _aimed_at(words[:-1] if len(words) > 1 else [], target, run)
    sources = words[:-1] if len(words) > 1 else words
    # After `cd .claude`, `ln -s . ../d` links the directory too: the source where it is.
    where = [(w, posixpath.join(run.cwd, w) if run.cwd else w) for w in sources]
    guarded = [w for w, full in where if "guard_tamper" in path_flags(w) + path_flags(full)]
    if guarded:  # ln -s .claude c: a second name to write watchkeeper's files through
        return [effect("update", "file", guarded[0], reversible="unknown", flags=["guard_tamper"],
                       span=run.span, why="a link to watchkeeper's own files")]  # fmt: skip
    if force:
        return [effect("overwrite", "file", target, reversible="no",
                       flags=path_flags(target or ""), span=run.span), *aimed]  # fmt: skip
    return [effect("create", "file", target, reversible="yes", flags=path_flags(target or ""),
                   span=run.span), *aimed]  # fmt: skip

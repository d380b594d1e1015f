"""What system commands do: files, disks, processes, services, packages, network, databases.

Each function reads one :class:`~watchkeeper.analyzers.invocation.Invocation` and returns its
effects. ``find -exec`` runs another command, so it takes the dispatcher too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from watchkeeper.analyzers import sql
from watchkeeper.analyzers.invocation import (
    SQL_CLIENTS,
    Invocation,
    dynamic,
    effect,
    path_flags,
    paths_of,
)
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
        out.append(
            effect(
                "delete",
                "directory" if recursive else "file",
                path,
                scope="all" if wide else ("many" if recursive else "one"),
                reversible="no",
                recovery="restore from a backup",
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
    if any(a.startswith(("--delete", "--remove-source-files")) for a in known):
        out.append(effect("delete", "file", destination, scope="many", reversible="no",
                          recovery="restore from a backup", span=run.span))  # fmt: skip
    out.append(effect("overwrite", "file", destination, span=run.span,
                      flags=path_flags(destination or "")))  # fmt: skip
    return out


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
    as_curl = ["-X", method or ("POST" if body else "GET"), *(["--data"] if body else [])]
    as_curl += [f"@{f}" for f in files]
    if url is not None:
        as_curl.append(url if "://" in url or url.startswith(":") else f"http://{url}")
    return curl(dataclasses.replace(run, args=[*as_curl]))


def interpreter(run: Invocation, flag: str) -> list[Effect]:
    known = run.known()
    code = (
        known[known.index(flag) + 1]
        if flag in known and known.index(flag) + 1 < len(known)
        else None
    )
    if code is None and not any(not a.startswith("-") for a in known):
        code = run.stdin_text  # `python3 <<EOF … EOF`
    if code is None:
        if run.stdin in ("decoded", "downloaded", "dynamic"):
            return [
                effect("execute", "process", None, flags=["obfuscated", "dynamic"], span=run.span)
            ]
        return [dynamic(f"{run.base} runs a script watchkeeper cannot see", run.span)]
    out = []
    if re.search(r"(rmtree|os\.remove|unlink|rmSync|rm_rf|File\.delete|rmdir|truncate)", code):
        out.append(effect("delete", "file", None, scope="many", reversible="no", span=run.span))
    if re.search(r"(subprocess|os\.system|popen|exec|spawn|child_process|system\(|`)", code):
        out.append(effect("execute", "process", None, flags=["dynamic"], span=run.span))
    if re.search(r"(socket|urllib|requests|http|fetch\(|net\.|curl)", code):
        out.append(effect("send", "message", None, flags=["egress"], span=run.span))
    if re.search(r"(b64decode|base64|decode\(|fromCharCode|\\x[0-9a-f]{2}|eval\()", code, re.I):
        out.append(effect("execute", "process", None, flags=["obfuscated"], span=run.span))
    return out or [effect("execute", "process", None, span=run.span)]


def sql_client(run: Invocation) -> list[Effect]:
    known = run.known()
    flags = SQL_CLIENTS[run.base]
    text = None
    for i, a in enumerate(known):
        if a in flags and i + 1 < len(known):
            text = known[i + 1]
        elif any(a.startswith(f + "=") for f in flags if f.startswith("--")):
            text = a.split("=", 1)[1]
    if run.base == "sqlite3":
        positional = paths_of(run)
        text = positional[1] if len(positional) > 1 else None
    if text is None:
        if run.stdin is not None:
            return [dynamic(f"{run.base} reads SQL from its input", run.span)]
        return [effect("read", "db_rows", None, reversible="yes", span=run.span)]
    dialect = {
        "psql": "postgres",
        "sqlite3": "sqlite",
        "sqlcmd": "tsql",
        "clickhouse-client": "clickhouse",
    }.get(run.base, "mysql")
    return sql.statements(text, dialect, run.span)


def simple(
    verb: str, kind: str, reversible: str = "unknown", flags: Sequence[str] = ()
) -> Callable[[Invocation], list[Effect]]:
    """One effect per path argument (or one without a target)."""

    def build(run: Invocation) -> list[Effect]:
        paths: list[str | None] = [*paths_of(run)] or [None]
        return [
            effect(
                verb,
                kind,
                p,
                reversible=reversible,
                flags=[*flags, *path_flags(p or "")],
                span=run.span,
            )
            for p in paths
        ]

    return build


def dd(run: Invocation) -> list[Effect]:
    out = next((a[3:] for a in run.known() if a.startswith("of=")), None)
    if out is None:
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
    secret = any(f == "credential_access" for a in known for f in path_flags(a.lstrip("@")))
    url = urls[0] if urls else None
    if sends and not several and _queries(url, known):  # one query, nothing chained after it
        sends = False
    return [
        effect(
            "send" if sends else "read",
            "message",
            url,
            flags=["egress"] + (["credential_access"] if secret else []),
            span=run.span,
        ),
        *_saved(run, url),
    ]


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
            if value == "-":
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


_SERVICE_ACTIONS = frozenset(
    "stop disable mask kill restart reboot poweroff halt start enable reload status".split()
)


def _method(known: list[str]) -> str | None:
    for i, a in enumerate(known):
        if a in ("-X", "--request", "--method") and i + 1 < len(known):
            return known[i + 1].upper()
        if a.startswith(("-X", "--request=", "--method=")) and len(a) > 2:
            return a.split("=", 1)[-1].removeprefix("-X").upper()
    return None


def systemctl(run: Invocation) -> list[Effect]:
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    # `systemctl stop nginx` and `service nginx stop` name the action in different places.
    sub = next((w for w in words if w in _SERVICE_ACTIONS), words[0] if words else "")
    if sub in ("stop", "disable", "mask", "kill", "restart", "reboot", "poweroff", "halt"):
        return [
            effect(
                "delete" if sub != "restart" else "update",
                "process",
                None,
                span=run.span,
                flags=["privileged"],
            )
        ]
    return [effect("read", "process", None, reversible="yes", span=run.span)]


_PACKAGE_REMOVALS = frozenset("remove purge uninstall erase autoremove autopurge rm del un".split())


def packages(run: Invocation) -> list[Effect]:
    known = run.known()
    words = paths_of(run)
    removes = (
        any(a in _PACKAGE_REMOVALS for a in words[:1])
        or (run.base == "pacman" and any(a.startswith("-R") for a in known))
        or (words[:1] == ["install"] and any(w.endswith("-") for w in words[1:]))  # apt: pkg-
    )
    if removes:
        # What ran on the package stops now; installing it again may bring another version
        # and, after a purge, none of its configuration.
        return [
            effect(
                "delete",
                "host",
                None,
                reversible="unknown",
                recovery="install the same version again",
                span=run.span,
            )
        ]
    if any(a in ("install", "add", "upgrade", "update") for a in known):
        return [effect("update", "host", None, reversible="yes", span=run.span)]
    return [effect("read", "host", None, reversible="yes", span=run.span)]


def redis(run: Invocation) -> list[Effect]:
    joined = " ".join(run.known()).lower()
    if any(w in joined for w in ("flushall", "flushdb", "del ", "unlink", "config set")):
        return [
            effect(
                "delete",
                "db_rows",
                None,
                scope="all" if "flush" in joined else "many",
                reversible="no",
                span=run.span,
            )
        ]
    return [effect("read", "db_rows", None, reversible="yes", span=run.span)]


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


def kill(run: Invocation) -> list[Effect]:
    return [effect("delete", "process", None, reversible="unknown", span=run.span)]


_AWK_RUNS = re.compile(r"\bsystem\s*\(|\|\s*getline|\bprint[f]?\b[^;{}]*\|")
_AWK_WRITES = re.compile(r"\bprint[f]?\b[^;{}]*>")
_SED_COMMAND = re.compile(r"(^|[;\n{}])\s*(\d+|\$|/(?:\\.|[^/])*/)?\s*[wWe]\b")
_SED_FLAGS = re.compile(r"s(.)(?:\\.|(?!\1).)*\1(?:\\.|(?!\1).)*\1[a-zA-Z0-9]*[we]")


def text_tools(run: Invocation) -> list[Effect] | None:
    """Readers with a program or flags that write or run: ``sed 'e …'``, ``sed -i``, ``awk
    'BEGIN{system(…)}'``, ``yq -i``, ``sort -o FILE``, ``uniq IN OUT``. ``None``: a plain read
    (the caller's reader table decides)."""
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
        return [effect("read", "file", next(iter(words[1:]), None), reversible="yes",
                       span=run.span)]  # fmt: skip
    if base in ("awk", "gawk", "mawk", "nawk"):
        if None in run.args or any(a == "-f" or a.startswith("--file") for a in flags):
            return [dynamic(f"{base} runs a program watchkeeper cannot see", run.span)]
        program = words[0] if words else ""
        if _AWK_RUNS.search(program):
            return [dynamic(f"the {base} program runs commands", run.span)]
        if _AWK_WRITES.search(program) or "-i" in known:
            return [dynamic(f"the {base} program writes files", run.span)]
        return [effect("read", "file", next(iter(words[1:]), None), reversible="yes",
                       span=run.span)]  # fmt: skip
    if base == "yq" and any(a in ("-i", "--inplace") or a.startswith("--inplace") for a in known):
        return [effect("update", "file", p, flags=path_flags(p or ""), span=run.span)
                for p in files]  # fmt: skip
    out_file = next(
        (known[i + 1] for i, a in enumerate(known[:-1]) if a in ("-o", "--output")), None
    ) or next((a.split("=", 1)[1] for a in known if a.startswith("--output=")), None)
    if base in ("sort", "shuf", "iconv") and out_file is not None:
        return [effect("overwrite", "file", out_file, reversible="no",
                       flags=path_flags(out_file), span=run.span)]  # fmt: skip
    dump_flags = _DUMP_OUTPUT.get(base)
    if dump_flags is not None:
        target = next((known[i + 1] for i, a in enumerate(known[:-1]) if a in dump_flags), None)
        target = target or next(
            (a.split("=", 1)[1] for a in known if a.startswith(dump_flags[1] + "=")), None
        )
        if target is not None:
            return [effect("overwrite", "file", target, reversible="no",
                           flags=path_flags(target), span=run.span)]  # fmt: skip
        return None
    if base == "dmesg" and any(a in ("-c", "-C", "--clear", "--read-clear") for a in known):
        return [effect("delete", "host", None, reversible="no", flags=["privileged"],
                       span=run.span, why="clears the kernel log")]  # fmt: skip
    if base == "xxd" and len(words) >= 2:  # xxd [-r] IN OUT writes OUT
        return [effect("overwrite", "file", words[1], reversible="no",
                       flags=path_flags(words[1]), span=run.span)]  # fmt: skip
    if base == "uniq" and len(words) >= 2:
        return [effect("overwrite", "file", words[1], reversible="no",
                       flags=path_flags(words[1]), span=run.span)]  # fmt: skip
    return None


_DUMP_OUTPUT = {
    "pg_dump": ("-f", "--file"),
    "pg_dumpall": ("-f", "--file"),
    "mysqldump": ("-r", "--result-file"),
    "mongodump": ("-o", "--out"),
}
_IP_CHANGES = frozenset("add del delete set flush change replace append prepend".split())


def host_tool(run: Invocation) -> list[Effect]:
    """``ip``, ``ifconfig``, ``hostname``, ``date``, ``ss``: they read, unless told to change the
    network, the name or the clock, or to kill sockets."""
    known = run.known()
    words = paths_of(run)
    change = (
        (run.base == "ip" and any(w in _IP_CHANGES for w in words))
        or (run.base == "ifconfig" and len(words) > 1)
        or (run.base == "hostname" and bool(words) and not known[0].startswith("-"))
        or (
            run.base == "date"
            and any(a in ("-s", "--set") or a.startswith("--set=") for a in known)
        )
        or (run.base == "ss" and any(a in ("-K", "--kill") for a in known))
    )
    if change:
        return [effect("update", "host", None, reversible="unknown", flags=["privileged"],
                       span=run.span, tool=run.base)]  # fmt: skip
    return [effect("read", "host", None, reversible="yes", span=run.span)]


def link(run: Invocation) -> list[Effect]:
    """``ln``: a new name, reversible; with ``-f`` it replaces whatever held that name."""
    known = run.known()
    force = any(
        a == "--force" or (a.startswith("-") and not a.startswith("--") and "f" in a[1:])
        for a in known
    )
    words = paths_of(run)
    target = words[-1] if words else None
    if force:
        return [effect("overwrite", "file", target, reversible="no",
                       flags=path_flags(target or ""), span=run.span)]  # fmt: skip
    return [effect("create", "file", target, reversible="yes", flags=path_flags(target or ""),
                   span=run.span)]  # fmt: skip

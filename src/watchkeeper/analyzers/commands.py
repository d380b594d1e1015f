"""What commands do: tables of verbs per command and subcommand, and code where tables can't.

:func:`effects_of` takes one resolved invocation (command word, static arguments, what feeds its
standard input) from the shell analyzer and returns its effects. Wrappers (``sudo``, ``env``,
``timeout``, ``xargs``, ``ssh host CMD``…) unwrap to the command they run; shells and ``eval``
send their text back to the shell analyzer; SQL clients send theirs to the SQL analyzer.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.analyzers import sql
from watchkeeper.models import Effect, Span, Target

Analyze = Callable[..., list[Effect]]

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "busybox"})
INTERPRETERS = {
    "python": "-c",
    "python3": "-c",
    "python2": "-c",
    "node": "-e",
    "nodejs": "-e",
    "perl": "-e",
    "ruby": "-e",
    "php": "-r",
    "deno": "eval",
    "bun": "-e",
}
READERS = frozenset(
    """
    ls cat head tail less more grep egrep fgrep rg ag echo printf pwd whoami id date wc
    sort uniq diff cmp stat file du df ps top htop free uptime uname hostname which type
    whereis realpath readlink basename dirname jq yq awk cut tr tee true false test sleep
    man help history tree env printenv locale nproc lsblk lscpu lsof netstat ss ip ifconfig
    ping dig nslookup host traceroute md5sum sha256sum sha1sum base64 xxd od hexdump
    strings column seq yes
    """.split()  # noqa: SIM905
)
DECODERS = frozenset(
    {
        "base64",
        "xxd",
        "openssl",
        "rev",
        "tr",
        "gunzip",
        "zcat",
        "gzip",
        "bzip2",
        "xz",
        "uudecode",
        "b64decode",
        "base32",
        "unzip",
        "tac",
    }
)
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "http", "aria2c"})
SQL_CLIENTS = {
    "psql": ("-c", "--command"),
    "mysql": ("-e", "--execute"),
    "mariadb": ("-e",),
    "sqlite3": (),
    "sqlcmd": ("-Q", "-q"),
    "clickhouse-client": ("-q", "--query"),
}
SECRET_PATHS = re.compile(
    r"(\.ssh/id_|\.ssh/.*key|\.aws/credentials|\.aws/config|\.netrc|\.pgpass|\.docker/config"
    r"|\.kube/config|/etc/shadow|(^|/)\.env(\.|$)|\.git-credentials|\.npmrc|\.pypirc|secrets?\.)"
)
GUARD_PATHS = re.compile(
    r"(^|/)(\.watchkeeper(/|$)|watchkeeper[^/]*\.ya?ml$|\.claude/+(\./+)*settings[^/]*\.json$)",
    re.IGNORECASE,
)
STARTUP_FILES = re.compile(
    r"(\.bashrc|\.bash_profile|\.profile|\.zshrc|\.zprofile|authorized_keys|crontab|/etc/cron)"
)


@dataclass(frozen=True)
class Invocation:
    """One command as the shell would run it, with what could be known statically."""

    name: str
    args: list[str | None]
    span: Span | None
    stdin: str | None = None  # "decoded", "downloaded", "dynamic", "text" or None
    depth: int = 0
    field: str = "command"
    variables: dict[str, str | None] = dataclasses.field(default_factory=dict)
    flags: frozenset[str] = frozenset()

    @property
    def base(self) -> str:
        return posixpath.basename(self.name.replace("\\", "/")).lower().removesuffix(".exe")

    def known(self) -> list[str]:
        return [a for a in self.args if a is not None]

    def rest(self, start: int) -> Invocation | None:
        """The command that argument ``start`` onwards runs (for wrappers)."""
        args = self.args[start:]
        if not args:
            return None
        if args[0] is None:
            return Invocation(
                "",
                [],
                self.span,
                self.stdin,
                self.depth,
                self.field,
                self.variables,
                self.flags | {"dynamic"},
            )
        return Invocation(
            args[0],
            args[1:],
            self.span,
            self.stdin,
            self.depth,
            self.field,
            self.variables,
            self.flags,
        )


def effect(
    verb: str,
    kind: str,
    ident: str | None,
    *,
    scope: str = "one",
    reversible: str = "unknown",
    recovery: str | None = None,
    flags: Sequence[str] | frozenset[str] = (),
    span: Span | None = None,
    **attributes: Any,
) -> Effect:
    """An effect found in a shell command."""
    return Effect(
        verb=verb,
        target=Target(kind, ident),
        scope=scope,
        reversible=reversible,
        recovery=recovery,
        flags=frozenset(flags),
        span=span,
        attributes=attributes,
        analyzer="shell",
    )


def dynamic(why: str, span: Span | None) -> Effect:
    """What cannot be known statically: never silently allowed in production."""
    return effect("unknown", "process", None, flags=["dynamic"], span=span, why=why)


def flagged(e: Effect, *flags: str) -> Effect:
    """``e`` with more flags."""
    return Effect(
        e.verb,
        e.target,
        e.environment,
        e.scope,
        e.count,
        e.reversible,
        e.recovery,
        e.flags | frozenset(flags),
        e.span,
        e.attributes,
        e.analyzer,
    )


def is_shell(name: str) -> bool:
    return posixpath.basename(name).lower() in SHELLS


def producer(name: str | None, args: list[str | None]) -> str:
    """What a pipeline stage feeds the next one: decoded text, a download, or plain text."""
    if name is None:
        return "dynamic"
    base = posixpath.basename(name).lower()
    known = [a for a in args if a]
    if base in DOWNLOADERS:
        return "downloaded"
    if base in ("base64", "base32", "b64decode") and any(
        a in ("-d", "--decode", "-D") for a in known
    ):
        return "decoded"
    if base == "xxd" and "-r" in " ".join(known):
        return "decoded"
    if base in ("openssl",) and any(a in ("enc", "base64", "-d") for a in known):
        return "decoded"
    if base in ("rev", "tr", "gunzip", "zcat", "uudecode", "tac") or (
        base in ("gzip", "bzip2", "xz") and "-d" in known
    ):
        return "decoded"
    if base in ("printf", "echo") and any(a and "\\x" in a for a in known):
        return "decoded"
    return "text"


def _paths(run: Invocation) -> list[str]:
    return [a for a in run.known() if not a.startswith("-")]


def _path_flags(path: str) -> list[str]:
    out = []
    if GUARD_PATHS.search(path):
        out.append("guard_tamper")
    if SECRET_PATHS.search(path):
        out.append("credential_access")
    if STARTUP_FILES.search(path):
        out.append("privileged")
    return out


def redirect(path: str | None, append: bool, span: Span) -> list[Effect]:
    """``> file`` truncates it; ``>> ~/.ssh/authorized_keys`` persists access."""
    if path is None:
        return [dynamic("output goes to a file named at run time", span)]
    if path in ("/dev/null", "/dev/stdout", "/dev/stderr") or path.startswith("/dev/fd/"):
        return []
    verb = "update" if append else "overwrite"
    return [
        effect(
            verb,
            "file",
            path,
            reversible="unknown" if append else "no",
            flags=_path_flags(path),
            span=span,
        )
    ]


def _rm(run: Invocation) -> list[Effect]:
    known = run.known()
    recursive = any(
        re.fullmatch(r"-[a-zA-Z]*[rR][a-zA-Z]*", a) or a == "--recursive" for a in known
    )
    paths: list[str | None] = [*_paths(run)] or [None]
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
                flags=_path_flags(path or "") + (["dynamic"] if None in run.args else []),
                span=run.span,
            )
        )
    return out


def _find(run: Invocation, analyze: Analyze) -> list[Effect]:
    known = run.known()
    out = [effect("read", "directory", (_paths(run) or ["."])[0], reversible="yes", span=run.span)]
    if "-delete" in known:
        out.append(
            effect(
                "delete",
                "file",
                (_paths(run) or ["."])[0],
                scope="many",
                reversible="no",
                span=run.span,
            )
        )
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in run.args:
            start = run.args.index(flag) + 1
            inner = run.rest(start)
            if inner is not None:
                end = [a for a in inner.args if a not in (";", "+", "\\;")]
                inner = Invocation(inner.name, end, run.span, None, run.depth, run.field)
                out.extend(effects_of(inner, analyze))
    return out


def _git(run: Invocation) -> list[Effect]:
    known = run.known()
    # git -C dir / --work-tree=dir / -c k=v come before the subcommand
    i = 0
    while i < len(known) and known[i].startswith("-"):
        i += 2 if known[i] in ("-C", "-c", "--git-dir", "--work-tree") else 1
    sub, rest = (known[i], known[i + 1 :]) if i < len(known) else ("", [])
    force = any(
        a in ("-f", "--force", "--force-with-lease", "--mirror", "--delete", "-d")
        or a.startswith(("+", ":"))
        for a in rest
    )
    if sub == "push":
        if force:
            return [
                effect(
                    "overwrite",
                    "git_ref",
                    rest[-1] if rest else None,
                    reversible="no",
                    recovery="push the old commit back, if anyone still has it",
                    span=run.span,
                )
            ]
        return [
            effect(
                "update",
                "git_ref",
                rest[-1] if rest else None,
                reversible="yes",
                flags=["egress"],
                span=run.span,
            )
        ]
    if (sub == "reset" and "--hard" in rest) or (
        sub == "clean" and any("f" in a for a in rest if a.startswith("-"))
    ):
        return [effect("delete", "file", None, scope="many", reversible="no", span=run.span)]
    if sub in ("checkout", "restore") and ("." in rest or "--" in rest or "-f" in rest):
        return [effect("overwrite", "file", None, scope="many", reversible="no", span=run.span)]
    if sub == "branch" and any(a in ("-D", "-d", "--delete") for a in rest):
        return [
            effect(
                "delete", "git_ref", rest[-1] if rest else None, reversible="unknown", span=run.span
            )
        ]
    if sub in ("filter-branch", "filter-repo", "rebase", "reflog", "gc", "prune"):
        return [
            effect("overwrite", "git_ref", None, scope="many", reversible="unknown", span=run.span)
        ]
    if sub in (
        "status",
        "log",
        "diff",
        "show",
        "blame",
        "grep",
        "fetch",
        "ls-files",
        "branch",
        "remote",
        "rev-parse",
        "describe",
        "",
    ):
        return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
    return [effect("update", "git_ref", None, reversible="yes", span=run.span)]


def _terraform(run: Invocation) -> list[Effect]:
    known = [a for a in run.known() if not a.startswith("-chdir")]
    args_env = " ".join(v or "" for k, v in run.variables.items() if k.startswith("TF_CLI_ARGS"))
    sub = next((a for a in known if not a.startswith("-")), "")
    words = set(known) | set(args_env.split())
    workspace = run.variables.get("TF_WORKSPACE")
    extra = {"workspace": workspace} if workspace else {}
    if (
        sub == "destroy"
        or (sub == "apply" and "-destroy" in words)
        or (sub == "state" and "rm" in known)
        or (sub == "workspace" and "delete" in known)
    ):
        return [
            effect(
                "delete",
                "terraform_resource",
                None,
                scope="many",
                reversible="no",
                span=run.span,
                **extra,
            )
        ]
    if sub in ("apply", "import", "taint", "untaint", "state", "workspace", "init"):
        return [effect("update", "terraform_resource", None, scope="many", span=run.span, **extra)]
    return [effect("read", "terraform_resource", None, reversible="yes", span=run.span, **extra)]


def _kubectl(run: Invocation) -> list[Effect]:
    known = run.known()
    context = next((known[i + 1] for i, a in enumerate(known[:-1]) if a == "--context"), None)
    context = context or next(
        (a.split("=", 1)[1] for a in known if a.startswith("--context=")), None
    )
    extra = {"context": context} if context else {}
    sub = next((a for a in known if not a.startswith("-") and a != context), "")
    wide = any(a in ("--all", "-A", "--all-namespaces") for a in known)
    if run.base == "helm":
        if sub in ("uninstall", "delete", "rollback"):
            return [
                effect("delete", "k8s_resource", None, reversible="unknown", span=run.span, **extra)
            ]
        return [
            effect(
                "update" if sub in ("install", "upgrade") else "read",
                "k8s_resource",
                None,
                span=run.span,
                **extra,
            )
        ]
    if (
        sub == "delete"
        or sub == "drain"
        or (sub == "scale" and any(a in ("--replicas=0",) for a in known))
        or (sub == "patch" and "finalizers" in " ".join(known))
    ):
        kinds = " ".join(known)
        stateful = any(
            w in kinds
            for w in (
                "namespace",
                "ns ",
                "pvc",
                "persistentvolume",
                "crd",
                "customresourcedefinition",
            )
        )
        return [
            effect(
                "delete",
                "k8s_resource",
                None,
                scope="all" if wide else "many",
                reversible="no" if stateful else "unknown",
                span=run.span,
                **extra,
            )
        ]
    if sub == "exec":
        return [effect("execute", "process", None, flags=["dynamic"], span=run.span, **extra)]
    if sub in (
        "get",
        "describe",
        "logs",
        "top",
        "explain",
        "version",
        "config",
        "api-resources",
        "auth",
        "diff",
    ):
        return [effect("read", "k8s_resource", None, reversible="yes", span=run.span, **extra)]
    return [effect("update", "k8s_resource", None, span=run.span, **extra)]


_CLOUD_DELETE = re.compile(r"(delete|terminate|remove|purge|destroy|deregister|rb$|^rm$|disable)")
_CLOUD_READ = re.compile(r"^(describe|list|get|ls|show|wait|help)")


def _cloud(run: Invocation) -> list[Effect]:
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    joined = " ".join(known)
    extra: dict[str, Any] = {}
    for flag in ("--profile", "--project", "--subscription", "--account"):
        if flag in known and known.index(flag) + 1 < len(known):
            extra[flag[2:]] = known[known.index(flag) + 1]
    if any(_CLOUD_DELETE.search(w) for w in words[:3]):
        unrecoverable = any(
            f in joined
            for f in (
                "--skip-final-snapshot",
                "--force",
                "--recursive",
                "--delete-automated-backups",
                "--no-deletion-protection",
            )
        )
        return [
            effect(
                "delete",
                "cloud_resource",
                None,
                scope="many",
                reversible="no" if unrecoverable else "unknown",
                span=run.span,
                **extra,
            )
        ]
    if "--no-deletion-protection" in joined or "--backup-retention-period 0" in joined:
        return [
            effect(
                "update",
                "cloud_resource",
                None,
                reversible="no",
                span=run.span,
                weakens="protection",
                **extra,
            )
        ]
    if any(_CLOUD_READ.search(w) for w in words[:3]):
        return [effect("read", "cloud_resource", None, reversible="yes", span=run.span, **extra)]
    return [effect("update", "cloud_resource", None, span=run.span, **extra)]


def _interpreter(run: Invocation, flag: str) -> list[Effect]:
    known = run.known()
    code = (
        known[known.index(flag) + 1]
        if flag in known and known.index(flag) + 1 < len(known)
        else None
    )
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


def _sql_client(run: Invocation) -> list[Effect]:
    known = run.known()
    flags = SQL_CLIENTS[run.base]
    text = None
    for i, a in enumerate(known):
        if a in flags and i + 1 < len(known):
            text = known[i + 1]
        elif any(a.startswith(f + "=") for f in flags if f.startswith("--")):
            text = a.split("=", 1)[1]
    if run.base == "sqlite3":
        positional = _paths(run)
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


def _shell(run: Invocation, analyze: Analyze) -> list[Effect]:
    known = run.known()
    if "-c" in run.args:
        i = run.args.index("-c") + 1
        text = run.args[i] if i < len(run.args) else None
        if text is None:
            return [dynamic(f"{run.base} -c runs text built at run time", run.span)]
        return analyze(text, run.field, depth=run.depth + 1)
    if any(not a.startswith("-") for a in known):  # bash script.sh: a script we cannot see
        return [dynamic(f"{run.base} runs a script watchkeeper cannot see", run.span)]
    if run.stdin in ("decoded", "downloaded"):
        return [
            effect(
                "execute",
                "process",
                None,
                flags=["obfuscated", "dynamic"],
                span=run.span,
                why=f"{run.stdin} text piped into {run.base}",
            )
        ]
    if run.stdin is not None:
        return [dynamic(f"{run.base} runs what is piped into it", run.span)]
    return [effect("execute", "process", None, span=run.span)]


# Wrappers: how many leading arguments belong to the wrapper before the command it runs.
def _wrapped_start(run: Invocation) -> int | None:
    base, args = run.base, run.args
    takes_value = {
        "sudo": {"-u", "-g", "-C", "-h", "-p", "-r", "-t", "-U"},
        "nice": {"-n"},
        "ionice": {"-c", "-n", "-p"},
        "timeout": {"-s", "-k", "--signal"},
        "stdbuf": set(),
        "env": {"-u", "-C", "-S"},
        "watch": {"-n", "-d"},
        "nohup": set(),
        "time": set(),
        "command": set(),
        "builtin": set(),
        "exec": {"-a"},
        "doas": {"-u"},
        "chroot": set(),
        "setsid": set(),
        "unbuffer": set(),
        "caffeinate": set(),
    }
    if base not in takes_value:
        return None
    i = 0
    while i < len(args):
        a = args[i]
        if a is None:
            return i
        if base == "env" and "=" in a and not a.startswith("-"):
            i += 1
            continue
        if a.startswith("-"):
            i += 2 if a in takes_value[base] else 1
            continue
        break
    if base == "timeout" and i < len(args):
        i += 1  # the duration
    if base == "chroot" and i < len(args):
        i += 1  # the new root
    return i


def effects_of(run: Invocation, analyze: Analyze) -> list[Effect]:
    """Effects of one invocation (``analyze`` is the shell analyzer, for nested shell text)."""
    out = _effects(run, analyze)
    if run.flags:
        out = [flagged(e, *run.flags) for e in out]
    return out


def _effects(run: Invocation, analyze: Analyze) -> list[Effect]:
    if not run.name:
        return [dynamic("the command word is computed at run time", run.span)]
    base = run.base
    start = _wrapped_start(run)
    if start is not None:
        inner = run.rest(start)
        if inner is None:
            return [effect("read", "process", None, reversible="yes", span=run.span)]
        if base in ("sudo", "doas"):
            inner = Invocation(
                inner.name,
                inner.args,
                inner.span,
                inner.stdin,
                inner.depth,
                inner.field,
                inner.variables,
                inner.flags | {"privileged"},
            )
        return effects_of(inner, analyze)
    if base == "xargs":
        inner = run.rest(
            next(
                (i for i, a in enumerate(run.args) if a is None or not a.startswith("-")),
                len(run.args),
            )
        )
        found = effects_of(inner, analyze) if inner else []
        return [flagged(e, "dynamic") for e in found] or [
            dynamic("xargs runs what it reads", run.span)
        ]
    if base in ("parallel",):
        return [dynamic("parallel runs commands built from its input", run.span)]
    if base in SHELLS:
        return _shell(run, analyze)
    if base == "eval":
        if None in run.args:
            return [dynamic("eval of text built at run time", run.span)]
        return analyze(" ".join(run.known()), run.field, depth=run.depth + 1)
    if base in ("source", "."):
        return [dynamic("sources a script watchkeeper cannot see", run.span)]
    if base == "ssh":
        known = run.known()
        hosts = [a for a in known if not a.startswith("-")]
        if len(hosts) >= 2:
            remote = analyze(" ".join(hosts[1:]), run.field, depth=run.depth + 1)
            return [effect("execute", "host", hosts[0], flags=["egress"], span=run.span), *remote]
        return [
            effect("execute", "host", hosts[0] if hosts else None, flags=["dynamic"], span=run.span)
        ]
    if base in ("docker", "podman") and run.known()[:1] == ["exec"]:
        known = run.known()[1:]
        i = 0
        while i < len(known) and known[i].startswith("-"):  # options, some with a value
            i += 2 if known[i] in ("-e", "--env", "-u", "--user", "-w", "--workdir") else 1
        command = known[i + 1 :]  # after the container
        if not command:
            return [dynamic("docker exec without a command", run.span)]
        return analyze(" ".join(command), run.field, depth=run.depth + 1)
    if base in ("kubectl", "oc") and run.known()[:1] == ["exec"] and "--" in run.known():
        known = run.known()
        return analyze(" ".join(known[known.index("--") + 1 :]), run.field, depth=run.depth + 1)
    if base in INTERPRETERS:
        return _interpreter(run, INTERPRETERS[base])
    if base in SQL_CLIENTS:
        return _sql_client(run)
    table = _TABLE.get(base)
    if table is not None:
        return table(run)
    if base in READERS:
        flags = [f for p in _paths(run) for f in _path_flags(p) if f == "credential_access"]
        return [
            effect(
                "read",
                "file",
                next(iter(_paths(run)), None),
                reversible="yes",
                flags=flags,
                span=run.span,
            )
        ]
    if base == "find":
        return _find(run, analyze)
    return [effect("unknown", "process", run.name, span=run.span, why=f"no knowledge of {base!r}")]


def _simple(
    verb: str, kind: str, reversible: str = "unknown", flags: Sequence[str] = ()
) -> Callable[[Invocation], list[Effect]]:
    """One effect per path argument (or one without a target)."""

    def build(run: Invocation) -> list[Effect]:
        paths: list[str | None] = [*_paths(run)] or [None]
        return [
            effect(
                verb,
                kind,
                p,
                reversible=reversible,
                flags=[*flags, *_path_flags(p or "")],
                span=run.span,
            )
            for p in paths
        ]

    return build


def _dd(run: Invocation) -> list[Effect]:
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


def _curl(run: Invocation) -> list[Effect]:
    known = run.known()
    sends = any(
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
    ) or ("-X" in known and "GET" not in known)
    secret = any(f == "credential_access" for a in known for f in _path_flags(a.lstrip("@")))
    return [
        effect(
            "send" if sends else "read",
            "message",
            next((a for a in known if "://" in a), None),
            flags=["egress"] + (["credential_access"] if secret else []),
            span=run.span,
        )
    ]


def _systemctl(run: Invocation) -> list[Effect]:
    known = run.known()
    sub = next((a for a in known if not a.startswith("-")), "")
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


def _packages(run: Invocation) -> list[Effect]:
    known = run.known()
    if any(a in ("remove", "purge", "uninstall", "erase", "autoremove", "rm") for a in known):
        return [
            effect(
                "delete", "host", None, reversible="yes", recovery="install it again", span=run.span
            )
        ]
    if any(a in ("install", "add", "upgrade", "update") for a in known):
        return [effect("update", "host", None, reversible="yes", span=run.span)]
    return [effect("read", "host", None, reversible="yes", span=run.span)]


def _redis(run: Invocation) -> list[Effect]:
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


def _mongo(run: Invocation) -> list[Effect]:
    joined = " ".join(run.known())
    if re.search(r"drop(Database)?\(|deleteMany|remove\(", joined):
        return [effect("delete", "db_rows", None, scope="many", reversible="no", span=run.span)]
    return [dynamic("mongo runs JavaScript", run.span)]


def _powershell(run: Invocation) -> list[Effect]:
    known = run.known()
    joined = " ".join(known).lower()
    if any(a.lower() in ("-encodedcommand", "-enc", "-e", "-ec") for a in known):
        return [effect("execute", "process", None, flags=["obfuscated", "dynamic"], span=run.span)]
    if "remove-item" in joined or "rm -r" in joined or "format-volume" in joined:
        return [effect("delete", "directory", None, scope="many", reversible="no", span=run.span)]
    return [dynamic("PowerShell script", run.span)]


def _windows_delete(run: Invocation) -> list[Effect]:
    return [
        effect(
            "delete",
            "directory" if run.base in ("rmdir", "rd") else "file",
            next(iter(_paths(run)), None),
            scope="many",
            reversible="no",
            span=run.span,
        )
    ]


def _docker(run: Invocation) -> list[Effect]:
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    volumes = any(a in ("-v", "--volumes") or (a.startswith("-") and "v" in a[1:3]) for a in known)
    if (words[:1] == ["volume"] and words[1:2] in (["rm"], ["prune"])) or (
        words[:2] == ["system", "prune"] and volumes
    ):
        return [effect("delete", "directory", None, scope="many", reversible="no", span=run.span)]
    if words[:1] in (["rm"], ["rmi"], ["prune"]) or words[1:2] == ["prune"]:
        return [
            effect(
                "delete", "process", None, reversible="no" if volumes else "unknown", span=run.span
            )
        ]
    if words[:1] in (["ps"], ["images"], ["logs"], ["inspect"], ["version"], ["info"]):
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    return [effect("update", "process", None, span=run.span)]


def _kill(run: Invocation) -> list[Effect]:
    return [effect("delete", "process", None, reversible="unknown", span=run.span)]


_TABLE: dict[str, Callable[[Invocation], list[Effect]]] = {
    "rm": _rm,
    "unlink": _rm,
    "rmdir": _windows_delete,
    "rd": _windows_delete,
    "del": _windows_delete,
    "erase": _windows_delete,
    "shred": _simple("delete", "file", "no"),
    "wipe": _simple("delete", "file", "no"),
    "srm": _simple("delete", "file", "no"),
    "truncate": _simple("overwrite", "file", "no"),
    "dd": _dd,
    "mkfs": _simple("delete", "host", "no"),
    "wipefs": _simple("delete", "host", "no"),
    "fdisk": _simple("overwrite", "host", "no"),
    "parted": _simple("overwrite", "host", "no"),
    "cp": _simple("overwrite", "file"),
    "mv": _simple("overwrite", "file"),
    "install": _simple("overwrite", "file"),
    "rsync": _simple("overwrite", "file"),
    "scp": _simple("send", "file", flags=["egress"]),
    "ln": _simple("create", "file", "yes"),
    "mkdir": _simple("create", "directory", "yes"),
    "touch": _simple("create", "file", "yes"),
    "tee": _simple("overwrite", "file"),
    "sed": _simple("update", "file"),
    "chmod": _simple("update", "file"),
    "chown": _simple("update", "file"),
    "chattr": _simple("update", "file"),
    "crontab": _simple("update", "host", flags=["privileged"]),
    "git": _git,
    "terraform": _terraform,
    "tofu": _terraform,
    "terragrunt": _terraform,
    "kubectl": _kubectl,
    "oc": _kubectl,
    "helm": _kubectl,
    "aws": _cloud,
    "gcloud": _cloud,
    "gsutil": _cloud,
    "az": _cloud,
    "doctl": _cloud,
    "docker": _docker,
    "podman": _docker,
    "curl": _curl,
    "wget": _curl,
    "nc": _simple("send", "message", flags=["egress", "dynamic"]),
    "ncat": _simple("send", "message", flags=["egress", "dynamic"]),
    "systemctl": _systemctl,
    "service": _systemctl,
    "shutdown": _systemctl,
    "reboot": _systemctl,
    "kill": _kill,
    "pkill": _kill,
    "killall": _kill,
    "apt": _packages,
    "apt-get": _packages,
    "yum": _packages,
    "dnf": _packages,
    "brew": _packages,
    "pip": _packages,
    "pip3": _packages,
    "npm": _packages,
    "yarn": _packages,
    "pnpm": _packages,
    "apk": _packages,
    "pacman": _packages,
    "snap": _packages,
    "gem": _packages,
    "cargo": _packages,
    "dropdb": _simple("delete", "database", "no"),
    "dropuser": _simple("delete", "secret", "no"),
    "redis-cli": _redis,
    "mongo": _mongo,
    "mongosh": _mongo,
    "powershell": _powershell,
    "pwsh": _powershell,
    "remove-item": _windows_delete,
}

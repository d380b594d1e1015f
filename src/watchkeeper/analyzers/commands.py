"""What commands do: tables of verbs per command and subcommand, and code where tables can't.

:func:`effects_of` takes one resolved invocation (command word, static arguments, what feeds its
standard input) from the shell analyzer and returns its effects. Wrappers (``sudo``, ``env``,
``timeout``, ``xargs``, ``ssh host CMD``…) unwrap to the command they run; shells and ``eval``
send their text back to the shell analyzer; SQL clients send theirs to the SQL analyzer.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
import re
import shlex

from watchkeeper.analyzers.concerns import command_concern
from watchkeeper.analyzers.effects import Flag
from watchkeeper.analyzers.generic import generic_cli
from watchkeeper.analyzers.invocation import (
    DOWNLOADERS,
    INTERPRETERS,
    NETWORK_FILES,
    PAYLOADS,
    SHELLS,
    SQL_CLIENTS,
    Analyze,
    Invocation,
    computed,
    dynamic,
    effect,
    flagged,
    is_scratch,
    is_shell,
    names_credential,
    network_file,
    paths_of,
    producer,
    redirect,
    runs_program,
)
from watchkeeper.analyzers.locations import locate
from watchkeeper.analyzers.packages import publish
from watchkeeper.analyzers.paths import (
    SOMEWHERE,
    is_credential,
    is_device,
    names_credential_file,
    path_flags,
)
from watchkeeper.analyzers.readers import config_check
from watchkeeper.analyzers.routine import TOOLS as ROUTINE_TOOLS
from watchkeeper.analyzers.routine import (
    environment_runner,
    publishes,
    reaches_outside,
    routine_inside,
    routine_work,
)
from watchkeeper.analyzers.secrets import prints_secrets, secret_read
from watchkeeper.analyzers.system import (
    bq_query,
    interpreter,
    sql_client,
)
from watchkeeper.analyzers.tools import TOOLS
from watchkeeper.analyzers.vocabulary import (
    asks_for_help,
)
from watchkeeper.analyzers.wrappers import ALONE_READS, RUNNERS, alone, runner, su, wrapped_start
from watchkeeper.models import Effect, Span

_XARGS_VALUED = frozenset({"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args"})


def _xargs_replace(known: list[str]) -> str | None:
    for i, a in enumerate(known):
        if a == "-I" and i + 1 < len(known):
            return known[i + 1]
        if a.startswith("-I") and len(a) > 2:
            return a[2:]
        if a in ("-i", "--replace") or a.startswith("--replace="):
            return a.split("=", 1)[1] if "=" in a else "{}"
    return None


#: Shell built-ins that change only the shell's own state.
NO_EFFECT = frozenset(
    {
        "cd",
        "pushd",
        "popd",
        "export",
        "set",
        "unset",
        "read",
        "shift",
        "local",
        "declare",
        "typeset",
        "readonly",
        "return",
        "exit",
        "wait",
        "umask",
        "ulimit",
        ":",
        "[",
        "[[",
    }
)

__all__ = [
    "DOWNLOADERS",
    "NETWORK_FILES",
    "Invocation",
    "dynamic",
    "effect",
    "effects_of",
    "flagged",
    "is_shell",
    "network_file",
    "producer",
    "redirect",
    "runs_program",
]


def _env_split(run: Invocation, analyze: Analyze) -> list[Effect]:
    """``env -S 'rm -rf /srv'``: the string is split into the command to run."""
    args = run.args
    for i, a in enumerate(args):
        value: str | None = None
        rest: list[str | None] = []
        if a in ("-S", "--split-string"):
            value = args[i + 1] if i + 1 < len(args) else None
            rest = args[i + 2 :]
        elif a is not None and a.startswith(("--split-string=", "-S")):
            value = a.split("=", 1)[1] if a.startswith("--") else a[2:]
            rest = args[i + 1 :]
        else:
            continue
        if value is None or None in rest:
            return [computed(run, "env -S runs text built at run time")]
        line = " ".join([value, *(shlex.quote(str(r)) for r in rest)])
        return analyze(line, run.field, depth=run.depth + 1)
    return [dynamic("env -S without a string", run.span)]


def _script(run: Invocation, path: str, analyze: Analyze) -> list[Effect]:
    """A script file run or sourced: read if this line wrote it plainly, else ``dynamic``."""
    written, text = run.written(path)
    if written and text is not None:  # echo 'rm -rf /srv' > x.sh && bash x.sh
        return analyze(text, run.field, depth=run.depth + 1)
    why = "written at run time" if written else "watchkeeper cannot see"
    # curl -o x.sh URL; bash x.sh: the script is the download
    unseen = computed(run, f"{run.base} runs a script {why} ({path})", run.payload_of(path))
    if not written and "obfuscated" not in unseen.flags and locate(path) == "workspace":
        return [unseen.with_attributes(runs="project")]  # ./scripts/check.sh, bash build.sh
    return [unseen]


_BUNDLE_C = re.compile(r"-[a-zA-Z]*c[a-zA-Z]*")
#: Names a script may be given by that mean "read it from standard input".
_STDIN_PATHS = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-"})


def _from_stdin(run: Invocation, analyze: Analyze) -> list[Effect]:
    """A shell or ``source`` running what arrives on its standard input."""
    if run.stdin_text is not None:  # `bash <<EOF … EOF`: the script is right here
        return analyze(run.stdin_text, run.field, depth=run.depth + 1)
    if run.stdin in PAYLOADS:
        return [computed(run, f"{run.base} runs what is piped into it", run.stdin)]
    if run.stdin is not None:
        return [dynamic(f"{run.base} runs what is piped into it", run.span)]
    return [effect("execute", "process", None, span=run.span, why="an interactive shell")]


def _shell(run: Invocation, analyze: Analyze) -> list[Effect]:
    """``sh -c TEXT``, ``bash script.sh``, ``bash <<EOF``, ``curl … | bash``, ``bash <(curl …)``."""
    # -c, alone or in a bundle (`bash -lc TEXT`): the next word is the script.
    at = next((i for i, a in enumerate(run.args) if a is not None and _BUNDLE_C.fullmatch(a)), None)
    if at is not None:
        text = run.args[at + 1] if at + 1 < len(run.args) else None
        if text is None:
            return [computed(run, f"{run.base} -c runs text built at run time")]
        return analyze(text, run.field, depth=run.depth + 1)
    # -s: commands come from standard input, and the words after are its arguments.
    reads_stdin = any(a is not None and re.fullmatch(r"-[a-zA-Z]*s[a-zA-Z]*", a) for a in run.args)
    script = next((a for a in run.args if a is None or not a.startswith("-")), "-")
    if reads_stdin or script in _STDIN_PATHS:
        return _from_stdin(run, analyze)
    if script is None:  # bash "$f", bash <(curl …)
        return [computed(run, f"{run.base} runs a script named at run time")]
    return _script(run, script, analyze)  # bash script.sh


def _globbed(run: Invocation, analyze: Analyze) -> list[Effect]:
    """A command word with a glob runs whichever program matches: judge every known one."""
    names = sorted(
        n for n in KNOWN_COMMANDS if fnmatch.fnmatchcase(n, run.base) and n not in ("[", "[[")
    )[:20]
    out = [
        flagged(e, "dynamic")
        for n in names
        for e in effects_of(dataclasses.replace(run, name=n), analyze)
    ]
    return out or [dynamic(f"the command word {run.name!r} is a glob", run.span)]


#: find tests and options that take a value: `find . -name -delete` looks for files so named.
_FIND_VALUED = frozenset(
    """
    -name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -type -xtype
    -user -group -uid -gid -perm -size -mtime -mmin -atime -amin -ctime -cmin -newer -anewer
    -cnewer -samefile -inum -links -maxdepth -mindepth -fstype -context -printf -fprintf -fprint
    -fprint0 -fls -regextype -used -files0-from -newerXY -D -O
    """.split()
)
_FIND_RUNS = ("-exec", "-execdir", "-ok", "-okdir")
_FIND_NAMES = frozenset("-name -iname -path -ipath -wholename -iwholename -lname -ilname".split())
_NOT = ("!", "\\!", "-not")


def _found(word: str | None, start: str | None) -> str | None:
    """A ``find -exec`` word with ``{}`` (each file found) read as the starting point."""
    if word is None or "{}" not in word:
        return word
    return None if start is None else word.replace("{}", start)


#: Tests that pick some of what is under a starting point, not all of it.
_FIND_TESTS = _FIND_NAMES | frozenset(
    "-type -mtime -mmin -atime -amin -ctime -cmin -newer -size -empty -user -group -perm "
    "-regex -iregex -links -inum -samefile -maxdepth -mindepth".split()
)


def _within(start: str | None, args: list[str | None]) -> dict[str, str]:
    """Where what ``find`` finds is: under the working tree's root, a test makes it some of
    the tree (``find . -name '*.pyc' -delete``), not the whole of it (``find . -delete``)."""
    where = locate(start)
    if where == "workspace_root" and any(a in _FIND_TESTS for a in args):
        return {"location": "workspace"}
    return {"location": where}


_QUOTED = re.compile(r"'([^'\\\n]{2,})'" + r'|"([^"\\\n]{2,})"')


_MAX_LITERALS = 64


def _embedded(run: Invocation, flag: str, analyze: Analyze) -> list[Effect]:
    """Shell commands written into code given inline (``python3 -c "os.system('rm -rf
    /srv')"``, ``node -e "rm -rf /"``): the code and each of its string literals, read as a
    command line. What they change counts, whether the code runs it or only holds it: code
    that merely quotes ``rm -rf /`` is rare, and a person can tell."""
    at = run.args.index(flag) + 1 if flag in run.args else None
    code = (run.args[at] if at is not None and at < len(run.args) else None) or run.stdin_text
    if not code or run.depth > 3:
        return []
    # The code and its first literals: a long heredoc costs its first few dozen, not all.
    texts = [code, *(a or b for a, b in _QUOTED.findall(code)[:_MAX_LITERALS])]
    out = []
    for text in dict.fromkeys(texts):
        for e in analyze(text, run.field, depth=run.depth + 1):
            if e.verb not in ("read", "unknown") and "dynamic" not in e.flags:
                out.append(e.with_attributes(why="a command in code given inline"))
    return out


def _find(run: Invocation, analyze: Analyze) -> list[Effect]:
    args = run.args
    lead: list[str | None] = []  # the starting points, after -H/-L/-P
    i = 0
    for a in args:  # a computed word here is a path (`find "$dir" -type f`)
        if a in ("-H", "-L", "-P"):
            i += 1
            continue
        if (a is not None and a[:1] in "-(!") or (a is None and lead):
            break  # after a plain path, a computed word may be the expression (`-delete`)
        lead.append(a)
        i += 1
    starts: list[str | None] = lead or ["."]  # a computed start (None) is a path unknown
    # `find ~ -name id_rsa -exec cat {} +`: a name test that names credentials, wherever.
    named = any(
        a in _FIND_NAMES and b is not None and names_credential_file(b) and before not in _NOT
        for before, a, b in zip([None, *args], args, args[1:], strict=False)
    )
    credential: list[Flag] = ["credential_access"] if named else []
    # `find . -name settings.json -delete`: a name test that can find watchkeeper's own files.
    guarded = any(
        a in _FIND_NAMES and b is not None and before not in _NOT
        and _finds_guarded(a, b)
        for before, a, b in zip([None, *args], args, args[1:], strict=False)
    )  # fmt: skip
    tamper: list[Flag] = ["guard_tamper"] if guarded else []
    out = [effect("read", "directory", p, reversible="yes", span=run.span, flags=credential)
           for p in starts]  # fmt: skip
    while i < len(args):
        a = args[i]
        if a in _FIND_RUNS:  # runs a command on each file, up to `;` or `+`
            end = i + 1
            while end < len(args) and args[end] not in (";", "+", "\\;"):
                end += 1
            inner = run.rest(i + 1)
            if inner is not None:
                # `{}` is each file found: a file under a starting point, so the command acts
                # under it (`find /srv -exec rm -rf {} +` deletes under /srv), never on a
                # file literally named `{}`. Not scratch: what is found may be anything.
                for p in starts:
                    words = [_found(w, p) for w in inner.args[: end - i - 2]]
                    each = Invocation(inner.name, words, run.span, None, run.depth, run.field,
                                      payload=run.payload, cwd=run.cwd)  # fmt: skip
                    found = [e.with_attributes(scratch=False, under=p, **_within(p, args))
                             if e.target.id == p and e.verb != "read" else e
                             for e in effects_of(each, analyze)]  # fmt: skip
                    if named:
                        found = [flagged(e, "credential_access") for e in found]
                    if guarded:
                        found = [flagged(e, "guard_tamper") if e.verb != "read" else e
                                 for e in found]  # fmt: skip
                    out.extend(found)
            i = end + 1
            continue
        if a is None:  # a computed test could be -delete
            out.append(dynamic("find with a test computed at run time", run.span))
        elif a == "-delete":  # what it finds under each starting point
            out.extend(effect("delete", "directory", p, scope="all" if p == "/" else "many",
                              reversible="no", recovery="restore from a backup",
                              flags=[*path_flags(p or "", tree=True), *tamper],
                              span=run.span, under=p, **_within(p, args))
                       for p in starts)  # fmt: skip
        elif a in ("-fprint", "-fprint0", "-fprintf", "-fls") and i + 1 < len(args):
            out.extend(redirect(args[i + 1], False, run.span or Span("command", 0, 0)))
        i += 2 if a in _FIND_VALUED else 1
    return out


#: watchkeeper's own files and the hook's settings, as `find` sees them below a start.
_GUARD_FOUND = (
    "./.claude", "./.claude/settings.json", "./.claude/settings.local.json",
    "./watchkeeper.yaml", "./watchkeeper.yml", "./.watchkeeper/signing.key",
)  # fmt: skip


def _finds_guarded(test: str, pattern: str) -> bool:
    """Whether a ``-name`` or ``-path`` test can match one of watchkeeper's own files."""
    pattern = pattern.lower()
    if test in ("-path", "-ipath", "-wholename", "-iwholename"):
        return any(fnmatch.fnmatchcase(p, pattern) for p in _GUARD_FOUND)
    return any(fnmatch.fnmatchcase(posixpath.basename(p), pattern) for p in _GUARD_FOUND)


def _parallel(run: Invocation, analyze: Analyze) -> list[Effect]:
    """``parallel CMD ::: a b``: CMD once per value, ``{}`` replaced; without CMD, each value
    is a command. Input from a pipe instead of ``:::`` is unknown until run time."""
    args = run.args
    if None in args:
        return [computed(run, "parallel runs commands built at run time")]
    if ":::" not in args:
        return [computed(run, "parallel runs commands built from its input", run.stdin)]
    at = args.index(":::")
    template = [str(a) for a in args[:at]]
    while template and template[0].startswith("-"):
        del template[: 2 if template[0] in _PARALLEL_VALUED else 1]
    values = [str(a) for a in args[at + 1 :] if a not in (":::", "::::")]
    lines = []
    for v in values:
        if not template:
            lines.append(v)  # the value is a command line
            continue
        words = [w.replace("{}", v) for w in template]
        if not any("{}" in w for w in template):
            words.append(v)
        lines.append(" ".join(shlex.quote(w) for w in words))
    if not lines:  # nothing after ::: : nothing runs
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    out: list[Effect] = []
    for line in lines[:MAX_PARALLEL]:
        out.extend(analyze(line, run.field, depth=run.depth + 1))
    return out


MAX_PARALLEL = 16
_PARALLEL_VALUED = frozenset(
    "-j -P --jobs -S --sshlogin --delay --timeout -N -n -L -l --results --joblog --tmpdir "
    "--workdir --colsep -d --delimiter -E".split()
)
_SSH_VALUED = frozenset("bcDEeFIiJLlmOopQRSWw")
_SSH_LOCAL = re.compile(
    r"(proxycommand|localcommand|permitlocalcommand|knownhostscommand|match\s+exec|include)",
    re.IGNORECASE,
)


def _ssh(run: Invocation, analyze: Analyze) -> list[Effect]:
    """``ssh host CMD``: what CMD does, on that host; ``ssh host`` alone is a session."""
    args = run.args
    if args and all(a in ("-V", "--version", "-h", "--help") for a in args):
        return [effect("read", "process", "ssh", reversible="yes", span=run.span)]
    for j, a in enumerate(args):  # options that run a command on this machine
        value: str | None = ""
        if a == "-o":
            value = args[j + 1] if j + 1 < len(args) else ""
        elif a is not None and a.startswith("-o"):
            value = a[2:]
        if a == "-F" or value is None or _SSH_LOCAL.search(value):
            return [
                dynamic("ssh may run a local command (ProxyCommand, LocalCommand, -F)", run.span)
            ]
    i = 0
    while i < len(args) and args[i] is not None and str(args[i]).startswith("-"):
        a = str(args[i])
        i += 2 if len(a) == 2 and a[1] in _SSH_VALUED else 1
    host = args[i] if i < len(args) else None
    command = args[i + 1 :]
    if host is None or not command:
        return [effect("execute", "host", host, flags=["dynamic"], span=run.span,
                       why="an interactive session")]  # fmt: skip
    if None in command:  # text computed here goes there: `ssh host "echo $(cat KEY)"`
        payload: list[Flag] = ["obfuscated"] if run.payload in PAYLOADS else []
        return [effect("execute", "host", host, flags=["dynamic", "egress", *payload],
                       span=run.span, why="a remote command built at run time")]  # fmt: skip
    # ssh joins its arguments with spaces and the remote shell parses them again.
    remote = analyze(" ".join(str(a) for a in command), run.field, depth=run.depth + 1)
    # What ssh reads on its input goes to the remote command: `cat KEY | ssh host 'cat > x'`.
    sends: list[Flag] = ["egress"] if run.stdin is not None else []
    # Scratch space is judged on the machine watchkeeper guards, not on a host it cannot see.
    return [
        effect("read", "host", host, reversible="yes", flags=sends, span=run.span),
        *(e.with_attributes(host=host, scratch=False) for e in remote),
    ]


def effects_of(run: Invocation, analyze: Analyze) -> list[Effect]:
    """Effects of one invocation (``analyze`` is the shell analyzer, for nested shell text)."""
    out = [
        e.with_attributes(scratch=True)
        if run.base in _SCRATCH_DELETERS and e.verb == "delete" and is_scratch(e.target.id)
        else e
        for e in _effects(run, analyze)
    ]
    out = [
        e.with_attributes(scratch=False)
        if e.verb in ("create", "update", "overwrite") and run.written(e.target.id)[0]
        else e
        for e in out
    ]  # cp -s ~/.bashrc /tmp/b; echo … >> /tmp/b: placed earlier in the line, so not scratch
    if run.cwd == SOMEWHERE:  # cd "$X" && rm -rf y: y is wherever $X was
        out = [
            e.with_attributes(location="unknown")
            if e.target.kind in ("file", "directory")
            and not (e.target.id or "").startswith(("/", "~"))
            else e
            for e in out
        ]
    concern = command_concern(run.base, run.known()) if "/" not in run.name else None
    if concern is not None:  # iptables -F, systemctl stop auditd: held by name, not as unknown
        out = [e for e in out if e.verb != "unknown"]
        out = [e if e.verb == "read" else e.with_attributes(concern=concern) for e in out]
        if all(e.verb == "read" for e in out):
            out.append(effect("update", "host", run.base, flags=["privileged"], span=run.span,
                              concern=concern))  # fmt: skip
    if run.flags:
        out = [flagged(e, *run.flags) for e in out]
    # tar czf - ~/.ssh, python3 up.py ~/.aws/credentials, dd if=…: unless a table already said
    # which of the effects reads it (`cat /tmp/x /etc/shadow`), they all may.
    if not any("credential_access" in e.flags for e in out) and names_credential(run):
        out = [flagged(e, "credential_access") for e in out]
    if run.base in _DEVICE_METADATA and all(
        is_device(w) or not is_credential(w, run.cwd) for w in [*run.known(), *run.shapes]
    ):  # ls -l /dev/sda, lsblk /dev/sda: a disk's size and name, not what it holds
        out = [dataclasses.replace(e, flags=e.flags - {"credential_access"}) for e in out]
    return out


#: Options of helm and kustomize that run a program or plugin while rendering.
_RUNS_PLUGINS = frozenset(
    {
        "--post-renderer",
        "--enable-exec",
        "--enable-alpha-plugins",
        "--helm-command",
        "--enable-star",
    }
)
#: Programs that show a disk's name, size or layout without reading what it holds.
_DEVICE_METADATA = frozenset(
    "ls stat df du lsblk blkid findmnt realpath readlink file lsattr udevadm smartctl".split()
)


def _effects(run: Invocation, analyze: Analyze) -> list[Effect]:
    if not run.name:
        return [computed(run, "the command word is computed at run time")]
    base = run.base
    if "/" in run.name and run.written(run.name)[0]:  # ./x.sh, written earlier in the line
        return _script(run, run.name, analyze)
    if any(c in base for c in "*?["):  # /bin/r? could be rm
        return _globbed(run, analyze)
    if base in ("command", "type", "which", "hash") and any(a in ("-v", "-V") for a in run.known()):
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    if base == "trap":  # trap 'CMD' EXIT: CMD runs later, in this shell
        action = [a for a in run.args if a not in ("-p", "-l", "--")][:1]
        if not action or action[0] in ("", "-"):  # list, ignore or reset the signal
            return [effect("read", "process", None, reversible="yes", span=run.span)]
        if action[0] is None:
            return [computed(run, "trap runs text built at run time")]
        return analyze(action[0], run.field, depth=run.depth + 1)
    if base == "hash" and "-p" in run.known():  # hash -p /bin/rm ls: `ls` now runs rm
        return [dynamic("hash -p renames a program for the rest of the line", run.span)]
    if base == "env" and any(
        a is not None and (a in ("-S", "--split-string") or a.startswith(("--split-string=", "-S")))
        for a in run.args
    ):
        return _env_split(run, analyze)
    printed = prints_secrets(run)  # env, printenv, declare -p, docker inspect, vault read…
    if printed is not None:
        return [secret_read(run, printed)]
    if base in NO_EFFECT:
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    if base in ("su", "runuser"):
        return su(run, analyze)
    start = wrapped_start(run)
    if start is not None:
        inner = run.rest(start)
        if inner is None:
            return alone(run)
        if base in ("sudo", "doas"):
            inner = dataclasses.replace(inner, flags=inner.flags | {"privileged"})
        if base == "env":  # env TF_WORKSPACE=prod terraform …: the command's environment
            assigned = dict(
                str(a).split("=", 1)
                for a in run.args[:start]
                if a is not None and "=" in a and not a.startswith("-")
            )
            inner = dataclasses.replace(inner, variables={**inner.variables, **assigned})
            if any(runs_program(k) for k in assigned):
                return [
                    dynamic(f"{', '.join(sorted(assigned))} can make it run any program", run.span),
                    *effects_of(inner, analyze),
                ]
        return effects_of(inner, analyze)
    if base == "xargs":
        i = 0
        while i < len(run.args) and run.args[i] is not None and str(run.args[i]).startswith("-"):
            i += 2 if run.args[i] in _XARGS_VALUED else 1
        inner = run.rest(i)
        if inner is not None and run.stdin in PAYLOADS:  # the items are decoded or downloaded
            inner = dataclasses.replace(inner, payload=run.stdin)
        replace = _xargs_replace(run.known())
        if inner is not None and replace is None:  # the items read are appended
            inner = dataclasses.replace(inner, args=[*inner.args, None])
        if inner is not None and replace is not None:
            # Arguments holding the replace string are whatever arrives on stdin.
            inner = dataclasses.replace(
                inner,
                name=inner.name if replace not in inner.name else "",
                args=[None if a is None or replace in a else a for a in inner.args],
            )
        if inner is None:  # no command: xargs runs echo, a read
            return [effect("read", "process", None, reversible="yes", span=run.span)]
        found = effects_of(inner, analyze)
        if found and all(e.verb == "read" and not e.flags for e in found):
            return found  # reading whatever files it is given is still reading
        return [flagged(e, "dynamic") for e in found] or [
            dynamic("xargs runs what it reads", run.span)
        ]
    if base == "busybox":  # `busybox rm -rf x`: the applet is the command
        inner = run.rest(0)
        if inner is None:  # busybox alone lists its applets
            return [effect("read", "process", None, reversible="yes", span=run.span)]
        return effects_of(inner, analyze)
    if base == "parallel":
        return _parallel(run, analyze)
    tool = TOOLS.get(base)
    if tool is not None and len(run.args) == 1 and run.args[0] in tool.versions:
        return [effect("read", "process", base, reversible="yes", span=run.span)]
    if tool is not None and run.args[:1] and run.args[0] in tool.checks:
        return config_check(run)
    if base in SHELLS:
        return _shell(run, analyze)
    if base == "eval":
        if None in run.args:
            return [computed(run, "eval of text built at run time")]
        return analyze(" ".join(run.known()), run.field, depth=run.depth + 1)
    if base in ("source", "."):
        script = next(iter(run.args), "")
        if script is None:  # source "$f", source <(curl …)
            return [computed(run, "sources a script named at run time")]
        if script in _STDIN_PATHS:
            return _from_stdin(run, analyze)
        if not script:
            return [effect("read", "process", None, reversible="yes", span=run.span,
                           why="source without a file does nothing")]  # fmt: skip
        return _script(run, script, analyze)
    if base == "ssh":
        return _ssh(run, analyze)
    if base in ("docker", "podman") and run.known()[:1] == ["exec"]:
        known = run.known()[1:]
        i = 0
        while i < len(known) and known[i].startswith("-"):  # options, some with a value
            i += 2 if known[i] in ("-e", "--env", "-u", "--user", "-w", "--workdir") else 1
        command = known[i + 1 :]  # after the container
        if not command or None in run.args:
            return [computed(run, f"{base} exec runs a command built at run time")]
        return analyze(" ".join(command), run.field, depth=run.depth + 1)
    if base in ("kubectl", "oc") and run.known()[:1] == ["exec"] and "--" in run.known():
        if None in run.args[run.args.index("--") :]:
            return [computed(run, f"{base} exec runs a command built at run time")]
        known = run.known()
        return analyze(" ".join(known[known.index("--") + 1 :]), run.field, depth=run.depth + 1)
    if base == "ip":  # ip netns exec NS CMD, ip vrf exec NAME CMD: CMD runs, as root
        at = next((j for j in range(1, len(run.args)) if run.args[j] == "exec"
                   and run.args[j - 1] in ("netns", "vrf")), None)  # fmt: skip
        inner = run.rest(at + 2) if at is not None else None
        if inner is not None:
            return effects_of(dataclasses.replace(inner, flags=inner.flags | {"privileged"}),
                              analyze)  # fmt: skip
    if base in INTERPRETERS:
        found = interpreter(run, INTERPRETERS[base])
        if all(e.verb == "read" for e in found):  # prints literals, nothing more
            return found
        return [*found, *_embedded(run, INTERPRETERS[base], analyze)]
    if base in SQL_CLIENTS:
        return sql_client(run)
    if base == "bq" and _first_word(run.args) == "query":  # `bq query SQL`: the SQL runs
        return bq_query(run)
    if base.startswith(("mkfs", "mke2fs", "mkswap")):
        return [
            effect(
                "delete", "host", next(iter(paths_of(run)), None), reversible="no", span=run.span
            )
        ]
    if publishes(run):  # ./gradlew publish, mvn deploy, twine upload
        return [publish(run, None)]
    # pytest, make test, uv run mypy (npm and cargo by their package manager's record)
    inner = environment_runner(run)  # uv run X, poetry run X, bundle exec X: judged as X
    if inner is not None:
        return effects_of(inner, analyze)
    handler = tool.handler if tool is not None else None
    routine = routine_inside(run) or (None if handler is not None else routine_work(run))
    if routine is not None:
        return routine
    if base in ROUTINE_TOOLS and handler is None and reaches_outside(base, run.args):
        # go build -o /etc/x, pytest --basetemp=~, tsc --outFile ~/.bashrc: not routine,
        # and not to be read by the words of its subcommand either
        return [dynamic(f"{base} with options that reach outside the working tree", run.span)]
    plugins = [a for a in run.known() if a.split("=", 1)[0] in _RUNS_PLUGINS]
    if plugins and base in ("helm", "kubectl", "oc", "kustomize"):
        # helm template --post-renderer ./x.sh, kustomize build --enable-exec: a program runs
        plugin = dynamic(f"{base} {plugins[0].split('=', 1)[0]} runs a program", run.span)
        return [plugin, *(handler(run) if handler is not None else [])]
    if tool is not None and handler is not None:
        if tool.subcommands and _first_word(run.args) is None:
            return [dynamic(f"the {base} subcommand is computed at run time", run.span)]
        if (
            tool.help
            and "/" not in run.name
            and "POSIXLY_CORRECT" not in run.variables
            and asks_for_help(run.known())
        ):
            return [effect("read", "process", base, reversible="yes", span=run.span)]
        return handler(run)
    if base == "find":
        return _find(run, analyze)
    if base in RUNNERS:  # strace ./x list, npx evil list: the words are another program's
        ran = runner(run)
        if ran is not None:
            return ran
    return generic_cli(run, dry_run_documented=tool is not None and tool.dry_run)


#: Deleting a name in scratch space with these removes that name and nothing else: they do not
#: follow a symbolic link given as the path (``shred``, ``truncate``, ``> file`` and ``find -L``
#: do, so writes there are not scratch: an earlier ``ln -s /etc/passwd /tmp/x`` would aim them).
_SCRATCH_DELETERS = frozenset({"rm", "unlink", "rmdir"})


def _first_word(args: list[str | None]) -> str | None:
    """The first argument that is not a flag; ``None`` when it is computed at run time."""
    for a in args:
        if a is None or not a.startswith("-"):
            return a
    return ""


#: Every command word a record or handler here knows; any other is judged by its words
#: (:func:`~watchkeeper.analyzers.generic.generic_cli`), and with no word known it is
#: ``unknown``.
KNOWN_COMMANDS = frozenset(
    {*TOOLS, *NO_EFFECT, *SHELLS, *INTERPRETERS, *SQL_CLIENTS, *ALONE_READS, *RUNNERS,
     *ROUTINE_TOOLS}
    | set(
        "sudo doas ionice chroot caffeinate su runuser xargs busybox parallel eval source . ssh "
        "find trap alias hash command type which env ip bq".split()
    )
)  # fmt: skip

"""One command as the shell would run it, and the vocabulary every command table uses.

:class:`Invocation` is a resolved command (its word, its static arguments, what feeds its
input); :func:`effect`, :func:`dynamic` and :func:`flagged` build effects; the path patterns say
which files are credentials, start-up files or watchkeeper's own.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from watchkeeper.analyzers.effects import Flag, Verb, builder, with_flags
from watchkeeper.models import Effect, Span

Analyze = Callable[..., list[Effect]]

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "ash"})
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
        "basenc",
        "unzip",
        "tac",
    }
)
#: Programs whose output comes from the network: what they print is whatever a server sent
#: (a DNS TXT record carries a payload as well as a web page does).
DOWNLOADERS = frozenset(
    "curl wget fetch http https xh aria2c nc ncat netcat socat dig host nslookup".split()
)
#: What a command's standard input or computed words carry when they come from a decoder or a
#: downloader: run as code, that text is ``obfuscated`` (what runs is not what reads).
PAYLOADS = ("decoded", "downloaded")
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
    r"|\.tfstate(\.backup)?$|terraform\.tfvars"
    r"|\.kube/config|/etc/shadow|(^|/)\.env(\.|$)|\.git-credentials|\.npmrc|\.pypirc|secrets?\.)"
    r"|/etc/gshadow|/etc/master\.passwd|/etc/security/opasswd|/etc/ssl/private/"
    r"|gcloud/(credentials\.db|access_tokens\.db|legacy_credentials|application_default_cred)"
    r"|\.azure/(accessTokens\.json|msal_token_cache)"
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
    #: What feeds standard input: "decoded", "downloaded", "dynamic" (a program computed at run
    #: time), "file" (a ``<`` redirection from a file), "text", or None (nothing).
    stdin: str | None = None
    depth: int = 0
    field: str = "command"
    variables: dict[str, str | None] = dataclasses.field(default_factory=dict)
    flags: frozenset[Flag] = frozenset()
    stdin_text: str | None = None  # a heredoc or here-string: what the command reads, known
    #: Files written earlier in the same line (normalized path → text, None if unknown).
    files: Mapping[str, str | None] = dataclasses.field(default_factory=dict)
    #: "decoded" or "downloaded" when a computed word of this command (its name or an argument)
    #: comes from a decoder or a downloader: ``eval "$(curl …)"``, ``X=$(… | base64 -d); $X``.
    payload: str | None = None
    #: Files written earlier in the line with decoded or downloaded text (normalized path →
    #: which): ``curl -o x.sh …; bash x.sh`` runs the download.
    payload_files: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def written(self, path: str | None) -> tuple[bool, str | None]:
        """Whether ``path`` was written earlier in the line, and its text if known."""
        if path is None:
            return False, None
        key = posixpath.normpath(path)
        return (key in self.files), self.files.get(key)

    def payload_of(self, path: str) -> str | None:
        """``decoded`` or ``downloaded`` when ``path`` was written with such text earlier."""
        return self.payload_files.get(posixpath.normpath(path))

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
            return dataclasses.replace(self, name="", args=[], flags=self.flags | {"dynamic"})
        return dataclasses.replace(self, name=args[0], args=args[1:])


#: Variables through which a command runs another program or loads code: set in the line,
#: they turn any command into whatever they name.
_RUNS_PROGRAM = re.compile(
    r"^(PATH|LD_\w+|DYLD_\w+|BASH_ENV|ENV|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|IFS|PS4|"
    r"\w*PAGER|\w*EDITOR|VISUAL|BROWSER|LESS|LESSOPEN|LESSCLOSE|LESSKEY\w*|LESSEDIT|MORE|"
    r"MANOPT|MANROFFOPT|RIPGREP_CONFIG_PATH|KUBECTL_EXTERNAL_DIFF|GIT_\w+|\w*_COMMAND|\w*ASKPASS|"
    r"PYTHON(STARTUP|PATH|HOME)|NODE_OPTIONS|NODE_PATH|PERL5?OPT|PERL5?LIB|RUBYOPT|RUBYLIB|"
    r"JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|SUDO_ASKPASS|TERMINFO|MANPAGER|SYSTEMD_\w+|"
    r"KUBECONFIG|DOCKER_HOST|TF_\w+|AWS_\w+|CLOUDSDK_\w+|POSIXLY_CORRECT)$"
)
#: Variables an analyzer reads for what they mean (TF_WORKSPACE, AWS_PROFILE): not programs.
_INERT = frozenset(
    {"TF_WORKSPACE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
     "AWS_DEFAULT_REGION", "CLOUDSDK_CORE_PROJECT", "TF_IN_AUTOMATION", "TF_INPUT",
     "TF_LOG", "GIT_TERMINAL_PROMPT", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
     "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"}
)  # fmt: skip


def runs_program(variable: str) -> bool:
    """Whether setting ``variable`` can make a command run another program or load code."""
    return bool(_RUNS_PROGRAM.match(variable)) and variable not in _INERT


effect = builder("shell")
"""Build an effect this analyzer found: ``effect(verb, kind, id, scope=…, flags=…)``."""


def dynamic(why: str, span: Span | None) -> Effect:
    """What cannot be known statically: never silently allowed in production."""
    return effect("unknown", "process", None, flags=["dynamic"], span=span, why=why)


def computed(run: Invocation, why: str, source: str | None = None) -> Effect:
    """Text a command runs as code, computed at run time: ``obfuscated`` when it comes from a
    decoder or a downloader (``source``, else the invocation's ``payload``), else ``dynamic``."""
    source = source or run.payload
    if source in PAYLOADS:
        return effect("execute", "process", None, flags=["obfuscated", "dynamic"], span=run.span,
                      why=f"{why}: {source} text")  # fmt: skip
    return dynamic(why, run.span)


def flagged(e: Effect, *flags: Flag) -> Effect:
    """``e`` with more flags."""
    return with_flags(e, *flags)


def is_shell(name: str) -> bool:
    return posixpath.basename(name).lower() in SHELLS


def producer(name: str | None, args: list[str | None]) -> str:
    """What a command prints for the next one: decoded text, a download, or plain text.

    ``dynamic`` when the program itself is computed at run time.
    """
    if name is None:
        return "dynamic"
    base = posixpath.basename(name).lower()
    known = [a for a in args if a]
    if base in DOWNLOADERS:
        return "downloaded"
    if base in _ALWAYS_DECODES or (base in _DECODE_FLAG and _decoding(known, _DECODE_FLAG[base])):
        return "decoded"
    if base == "openssl" and any(a in ("enc", "base64", "-d") for a in known):
        return "decoded"
    if base in ("printf", "echo") and any(_ESCAPED.search(a) for a in known):
        return "decoded"
    return "text"


#: Programs whose output is always their input decoded, unpacked or reordered.
_ALWAYS_DECODES = frozenset(
    "rev tr gunzip zcat bzcat xzcat unxz bunzip2 zstdcat unzstd uudecode tac b64decode".split()
)
#: Programs that decode when given a flag: the short letters, bundles included (``-di``).
_DECODE_FLAG = {
    "base64": "dD",
    "base32": "dD",
    "basenc": "d",
    "xxd": "r",
    "gzip": "d",
    "bzip2": "d",
    "xz": "d",
    "zstd": "d",
    "lz4": "d",
    "brotli": "d",
}
#: Every program :func:`producer` may call decoded or downloaded: others print plain text.
MAY_DECODE = frozenset({*DOWNLOADERS, *_ALWAYS_DECODES, *_DECODE_FLAG, "openssl", "printf", "echo"})
_ESCAPED = re.compile(r"\\(x[0-9a-fA-F]|u[0-9a-fA-F]|0?[0-7]{3})")


def _decoding(args: list[str], letters: str) -> bool:
    for a in args:
        if a in ("--decode", "--decompress", "--uncompress", "--revert"):
            return True
        if a.startswith("-") and not a.startswith("--") and any(c in letters for c in a[1:]):
            return True
    return False


def paths_of(run: Invocation) -> list[str]:
    return [a for a in run.known() if not a.startswith("-")]


_SCRATCH_ROOTS = ("/tmp/", "/var/tmp/")


def is_scratch(path: str | None) -> bool:
    """A name directly inside scratch space (``/tmp/build``, ``/var/tmp/cache``).

    Only one level down: ``rm`` removes a symbolic link there as a link, but a path through it
    (``/tmp/link/x``) or with a trailing slash goes wherever the link points. Only a literal
    name: ``/tmp/*`` also takes the sockets and lock files of running services (PostgreSQL's
    ``/tmp/.s.PGSQL.5432``). Not the root itself, not ``..`` out of it, and not through a
    variable: ``$TMPDIR`` is whatever an earlier command made it.
    """
    if not path or not path.startswith("/") or path.endswith("/"):
        return False
    if any(c in path for c in "$*?[{"):
        return False
    for root in _SCRATCH_ROOTS:
        # The path exactly as written: `/tmp/link/../db` folds to /tmp/db on paper, but the
        # kernel follows `link` first. Dot-names are sockets and locks of running services.
        name = path[len(root) :] if path.startswith(root) else ""
        if (
            name
            and "/" not in name
            and not name.startswith(".")
            and not name.endswith((".sock", ".lock", ".pid"))
        ):
            return True
    return False


def path_flags(path: str) -> list[Flag]:
    # `/etc//shadow` and `/etc/./shadow` are `/etc/shadow`: match the path as written and folded.
    forms = (path, posixpath.normpath(path))
    out: list[Flag] = []
    if any(GUARD_PATHS.search(p) for p in forms):
        out.append("guard_tamper")
    if any(SECRET_PATHS.search(p) for p in forms):
        out.append("credential_access")
    if any(STARTUP_FILES.search(p) for p in forms):
        out.append("privileged")
    return out


def redirect(path: str | None, append: bool, span: Span) -> list[Effect]:
    """``> file`` truncates it; ``>> ~/.ssh/authorized_keys`` persists access."""
    if path is None:
        return [dynamic("output goes to a file named at run time", span)]
    if path in ("/dev/null", "/dev/stdout", "/dev/stderr") or path.startswith("/dev/fd/"):
        return []
    verb: Verb = "update" if append else "overwrite"
    found = effect(
        verb,
        "file",
        path,
        reversible="unknown" if append else "no",
        flags=path_flags(path),
        span=span,
    )
    return [found]

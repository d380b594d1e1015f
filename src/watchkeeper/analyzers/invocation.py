"""One command as the shell would run it, and the vocabulary every command table uses.

:class:`Invocation` is a resolved command (its word, its static arguments, what feeds its
input); :func:`effect`, :func:`dynamic` and :func:`flagged` build effects;
:func:`names_credential` says whether a command names a credential anywhere in its words
(:mod:`~watchkeeper.analyzers.paths` says which paths are credentials).
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from watchkeeper.analyzers.effects import Flag, Verb, builder, with_flags
from watchkeeper.analyzers.paths import discards, is_credential, path_flags
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
    #: Where relative paths are: the directory ``cd`` moved to earlier in the line, or the
    #: action's ``cwd`` (:data:`~watchkeeper.analyzers.paths.SOMEWHERE` after a ``cd`` to a
    #: place nobody knows, None when nothing says).
    cwd: str | None = None
    #: The computed words, with what is computed as ``*``: ``"$D/.aws/credentials"`` is
    #: ``*/.aws/credentials``, which names a credential whatever ``$D`` is.
    shapes: tuple[str, ...] = ()

    def written(self, path: str | None) -> tuple[bool, str | None]:
        """Whether ``path`` was written earlier in the line, and its text if known."""
        if path is None:
            return False, None
        key = posixpath.normpath(path)
        return (key in self.files), self.files.get(key)

    def payload_of(self, path: str) -> str | None:
        """``decoded`` or ``downloaded`` when ``path`` was written with such text earlier."""
        return self.payload_files.get(posixpath.normpath(path))

    @functools.cached_property
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


#: Programs whose words are text, names or places, never files they open: ``echo
#: ~/.aws/credentials`` prints a path, ``cd ~/.ssh`` moves there, ``mkdir -p ~/.aws`` makes one.
NAMES_ONLY = frozenset(
    """
    cd pushd popd export set unset local declare typeset readonly alias unalias echo printf test
    [ [[ basename dirname which type whereis command hash mkdir
    """.split()
)
#: Wrappers: the command they run is judged by its own words.
_WRAPPERS = frozenset(
    """
    sudo doas env nice ionice timeout stdbuf watch nohup time command builtin exec chroot setsid
    unbuffer caffeinate xargs busybox su runuser
    """.split()
)
#: Programs that read a directory they are given whole, files and all: given ``~/.ssh`` or
#: ``/etc``, they read the keys and passwords in it (``tar czf - ~/.ssh``, ``rsync -a ~ host:``).
TREE_READERS = frozenset(
    """
    tar bsdtar gtar zip 7z 7za cpio pax gpgtar cp scp rsync rclone restic borg duplicity rg ag
    aws gsutil az
    """.split()
)
_RECURSES = frozenset({"-r", "-R", "--recursive", "--dereference-recursive"})
#: Options whose value is the program's own key, certificate or configuration, which it uses to
#: authenticate and neither prints nor sends: ``ssh -i KEY host``, ``curl --cert FILE``.
_IDENTITY: dict[str, frozenset[str]] = {
    **dict.fromkeys(("ssh", "scp", "sftp", "autossh"), frozenset({"-i", "-F"})),
    "rsync": frozenset({"-e", "--rsh"}),  # rsync -e 'ssh -i KEY'
    "curl": frozenset(
        "--cert -E --key --cacert --capath --netrc-file --proxy-cert --proxy-key "
        "--proxy-cacert".split()
    ),
    "wget": frozenset("--certificate --private-key --ca-certificate --ca-directory".split()),
    "openssl": frozenset("-key -cert -CAfile -CApath -pass".split()),
    **dict.fromkeys(
        ("kubectl", "oc", "helm"),
        frozenset({"--kubeconfig", "--client-key", "--client-certificate"}),
    ),
    **dict.fromkeys(
        ("docker", "podman", "buildah", "skopeo"),
        frozenset({"--config", "--tlscert", "--tlskey", "--tlscacert", "--authfile"}),
    ),
    "git": frozenset({"-c"}),  # -c core.sshCommand='ssh -i KEY'
    **dict.fromkeys(("terraform", "tofu", "terragrunt"), frozenset({"-var-file"})),
    **dict.fromkeys(
        ("ansible", "ansible-playbook"),
        frozenset({"--private-key", "--key-file", "--vault-password-file"}),
    ),
    "gcloud": frozenset({"--key-file", "--credential-file-override"}),
}
_SSH_IDENTITY = re.compile(r"\s*(identityfile|certificatefile|userknownhostsfile)\b", re.I)
_PLAIN = re.compile(r"[\w-]*")
#: Where a word splits into the paths it may hold: ``--file=F``, ``@F``, ``if=F``, ``host:F``.
_TOKEN = re.compile(r"[^\s'\"()=@,;<>|&`]+")


def _tokens(word: str) -> list[str]:
    out = []
    for token in _TOKEN.findall(word):
        out.append(token)
        if ":" in token.rstrip(":"):  # host:~/.ssh/id_rsa, OPEN:/etc/shadow
            out.append(token.rsplit(":", 1)[1])
        if token.startswith("-") and not token.startswith("--") and len(token) > 2:
            out.append(token[2:])  # -f/etc/shadow
    return out


def names_credential(run: Invocation) -> bool:
    """Whether ``run`` names a credential anywhere in its words: an operand, an option's
    value, a word computed in part (its shape), a directory it may read whole.

    A program given a credential's path may read it, whatever it is (``tar``, ``gpg``,
    ``python3 upload.py``): only programs that never open their words (:data:`NAMES_ONLY`)
    and the options through which a program authenticates itself (``ssh -i``) do not count.
    """
    if run.base in NAMES_ONLY or run.base in _WRAPPERS or _shows_redacted(run):
        return False
    own = _IDENTITY.get(run.base, frozenset())
    words: list[str] = []
    skip = False
    for i, a in enumerate(run.args):
        if skip or a is None:
            skip = False
            continue
        if a in own:  # the value is the next word
            skip = True
            continue
        if a.split("=", 1)[0] in own or (a[:2] in own and not a.startswith("--")):
            continue  # --cert=FILE, -iKEY
        following = run.args[i + 1] if i + 1 < len(run.args) else None
        if a == "-o" and own and _SSH_IDENTITY.match(following or ""):
            skip = True  # ssh -o IdentityFile=KEY
            continue
        words.append(a)
    whole = [*words, *run.shapes]
    tree = run.base in TREE_READERS or (
        run.base in ("grep", "egrep", "fgrep", "zgrep")
        and any(
            a in _RECURSES or (a[:1] == "-" and a[1:2] != "-" and "r" in a.lower()) for a in words
        )
    )
    if tree and any(is_credential(w, run.cwd, tree=True) for w in whole):
        return True
    return any(
        is_credential(token, run.cwd)
        for word in whole
        for token in _tokens(word)
        # A plain word (`-rf`, `status`) names a credential only under a known directory.
        if run.cwd is not None or not _PLAIN.fullmatch(token)
    )


def _shows_redacted(run: Invocation) -> bool:
    """``terraform show [FILE]``: the state or plan it reads is printed with sensitive values
    redacted, as ``terraform plan`` prints them (``-json`` prints them: a credential read)."""
    if run.base not in ("terraform", "tofu") or "-json" in run.args:
        return False
    return next((a for a in run.known() if not a.startswith("-")), None) == "show"


#: Bash's network pseudo-files: a redirection to or from one is a connection.
NETWORK_FILES = ("/dev/tcp/", "/dev/udp/")


def network_file(path: str, span: Span | None, *, sends: bool = True) -> Effect:
    """``> /dev/tcp/HOST/PORT`` sends to HOST; ``< /dev/tcp/…`` reads from it."""
    host = path.split("/")[3] if path.count("/") >= 3 else None
    return effect("send" if sends else "read", "message", host, flags=["egress", "dynamic"],
                  span=span, why="bash connects to the network")  # fmt: skip


def redirect(path: str | None, append: bool, span: Span) -> list[Effect]:
    """``> file`` truncates it; ``>> ~/.ssh/authorized_keys`` persists access."""
    if path is None:
        return [dynamic("output goes to a file named at run time", span)]
    if discards(path) or path.startswith("/dev/fd/"):  # 3> opened it: counted there
        return []
    if path.startswith(NETWORK_FILES):  # > /dev/tcp/HOST/PORT: bash connects and sends
        return [network_file(path, span)]
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

"""Which paths are credentials, start-up files or watchkeeper's own, however they are written.

:func:`path_flags` gives the flags a path carries::

    path_flags("~/.aws/credentials")          # ['credential_access']
    path_flags("$HOME/.AWS/Credentials")      # the same file: ['credential_access']
    path_flags("shadow", cwd="/etc")          # under the directory the line moved to
    path_flags("~/.aws/*")                    # a glob that can name one: ['credential_access']
    path_flags("~/.ssh", tree=True)           # a directory read whole (tar, cp -r, zip -r)

A path is matched as written, with ``//`` and ``/./`` folded, with the home directory in any
spelling (``~``, ``~name``, ``$HOME``, ``${HOME}``, ``/home/name``, ``/Users/name``, ``/root``)
read as ``~``, and without regard to letter case: macOS and Windows disks are case-insensitive,
so ``~/.AWS/credentials`` is the same file. A glob, a path with a part computed at run time
(``"$D/.aws/credentials"``, given here as ``*/.aws/credentials``) or a relative path under a
directory nobody knows (``cwd=SOMEWHERE``) is a credential when it can name one of
:data:`CREDENTIAL_FILES`.
"""

from __future__ import annotations

import functools
import posixpath
import re

from watchkeeper.analyzers.effects import Flag

SECRET_PATHS = re.compile(
    r"(\.ssh/id_|\.ssh/.*key|\.aws/credentials|\.aws/config|\.netrc|\.pgpass|\.docker/config"
    r"|\.tfstate(\.backup)?$|terraform\.tfvars"
    r"|\.kube/config|/etc/shadow|(^|/)\.env(\.|$)|\.git-credentials|\.npmrc|\.pypirc|secrets?\.)"
    r"|/etc/gshadow|/etc/master\.passwd|/etc/security/opasswd|/etc/ssl/private/"
    r"|gcloud/(credentials\.db|access_tokens\.db|legacy_credentials|application_default_cred)"
    r"|\.azure/(accessTokens\.json|msal_token_cache)"
    r"|^/proc/[^/]+(/task/[^/]+)?/environ$|\.vault-token|\.config/gh/hosts\.yml"
    r"|\.terraform\.d/credentials\.tfrc\.json|\.gnupg/private-keys|\.password-store/"
    # Service-account tokens and mounted secrets; host keys; cluster admin configurations.
    r"|^/(var/)?run/secrets/|^/etc/ssh/ssh_host_[^/]*_key$|^/etc/kubernetes/[^/]*\.conf$"
    r"|^/etc/kubernetes/pki/.*\.key$|^/var/lib/kubelet/kubeconfig"
    # Registry, build-tool and client credentials.
    r"|\.cargo/credentials(\.toml)?$|\.gem/credentials$|\.m2/settings(-security)?\.xml$"
    r"|\.gradle/gradle\.properties$|(composer|containers)/auth\.json$|(^|/)\.boto$"
    r"|(^|/)\.s3cfg$|rclone/rclone\.conf$|(^|/)\.my\.cnf$|(^|/)\.mylogin\.cnf$"
    r"|^/etc/mysql/debian\.cnf$|(^|/)\.terraformrc$|\.aws/(sso|cli)/cache/"
    r"|\.config/hub$|doctl/config\.yaml$|\.kube/[^/]+\.ya?ml$|\.local/share/keyrings/"
    r"|(^|/)\.?vault[_-]?pass(word)?(\.txt)?$|(^|/)wp-config\.php$"
    # Private keys by their name: not the public half (`id_rsa.pub`), not certificates.
    r"|(^|/)id_(rsa|dsa|ecdsa|ed25519)(_sk)?$|\.(key|p12|pfx|jks|keystore)$"
    r"|(^|/)[^/]*priv[^/]*\.pem$"
    # What was typed: passwords given on command lines and to database shells.
    r"|(^|/)\.(bash|zsh|sh|psql|mysql|sqlite|python|node_repl|rediscli|mongosh|dbshell)_history$"
    r"|fish/fish_history$"
    # Raw disks and memory: every file, credentials included, is in them.
    r"|^/dev/(mem|kmem|port)$|^/proc/kcore$|^/dev/mapper/|^/dev/disk/"
    r"|^/dev/(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+|dm-|md\d)[p\d\-]*$",
    re.IGNORECASE,
)
GUARD_PATHS = re.compile(
    r"(^|/)(\.watchkeeper(/|$)|watchkeeper[^/]*\.ya?ml$|\.claude/+(\./+)*settings[^/]*\.json$"
    r"|\.claude/*$)",  # the directory itself: removing or moving it removes the hooks
    re.IGNORECASE,
)
STARTUP_FILES = re.compile(
    r"(\.bashrc|\.bash_profile|\.profile|\.zshrc|\.zprofile|authorized_keys|crontab|/etc/cron)",
    re.IGNORECASE,
)
#: One example of every kind of credential file: a glob, a directory or a path under an unknown
#: directory is a credential path when it can name one (a test keeps each one matched by
#: :data:`SECRET_PATHS`).
CREDENTIAL_FILES = (
    "~/.ssh/id_rsa", "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_dsa",
    "~/.aws/credentials", "~/.aws/config", "~/.netrc", "~/.pgpass", "~/.docker/config.json",
    "~/.kube/config", "~/.git-credentials", "~/.npmrc", "~/.pypirc", "~/.vault-token",
    "~/.config/gcloud/credentials.db", "~/.config/gcloud/access_tokens.db",
    "~/.config/gcloud/application_default_credentials.json",
    "~/.config/gcloud/legacy_credentials/me@example.com/adc.json",
    "~/.azure/accessTokens.json", "~/.azure/msal_token_cache.json", "~/.config/gh/hosts.yml",
    "~/.terraform.d/credentials.tfrc.json", "~/.gnupg/private-keys-v1.d/key.key",
    "~/.password-store/site.gpg", "/etc/shadow", "/etc/gshadow", "/etc/master.passwd",
    "/etc/security/opasswd", "/etc/ssl/private/site.key", "/proc/1/environ",
    "/proc/self/environ", ".env", "terraform.tfstate", "terraform.tfvars",
    "/var/run/secrets/kubernetes.io/serviceaccount/token", "/run/secrets/db_password",
    "/etc/ssh/ssh_host_ed25519_key", "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/pki/ca.key", "/var/lib/kubelet/kubeconfig", "~/.cargo/credentials.toml",
    "~/.gem/credentials", "~/.m2/settings.xml", "~/.gradle/gradle.properties",
    "~/.config/composer/auth.json", "~/.config/containers/auth.json", "~/.boto", "~/.s3cfg",
    "~/.config/rclone/rclone.conf", "~/.my.cnf", "~/.mylogin.cnf", "/etc/mysql/debian.cnf",
    "~/.terraformrc", "~/.config/hub",
    "~/.config/doctl/config.yaml", "id_ed25519", "server.key", "keystore.p12",
    "privkey.pem", "~/.kube/prod.yaml", "~/.local/share/keyrings/login.keyring",
    "~/.vault_pass", "wp-config.php", "~/.bash_history", "~/.psql_history",
    "~/.local/share/fish/fish_history", "/dev/sda", "/dev/nvme0n1p1", "/dev/mem", "/proc/kcore",
    "/dev/mapper/root", "/dev/disk/by-uuid/1234",
)  # fmt: skip
#: The same, for globs: watchkeeper's own files and the start-up files.
_EXAMPLES: dict[Flag, tuple[str, ...]] = {
    "credential_access": CREDENTIAL_FILES,
    "guard_tamper": (
        "~/.watchkeeper/keys/signing.key",
        "watchkeeper.yaml",
        ".claude/settings.json",
        "~/.claude/settings.json",
        "~/.claude/settings.local.json",
    ),
    "privileged": (
        "~/.bashrc",
        "~/.bash_profile",
        "~/.profile",
        "~/.zshrc",
        "~/.zprofile",
        "~/.ssh/authorized_keys",
        "/etc/crontab",
        "/etc/cron.d/job",
    ),
}
_PATTERNS: dict[Flag, re.Pattern[str]] = {
    "guard_tamper": GUARD_PATHS,
    "credential_access": SECRET_PATHS,
    "privileged": STARTUP_FILES,
}
#: The longest path a system call takes (Linux's PATH_MAX): a longer word names no file.
PATH_MAX = 4096
#: The directory of a relative path after ``cd`` went somewhere nobody knows (``cd "$X"``):
#: any directory at all.
SOMEWHERE = "**"
_HOME = re.compile(r"^(\$HOME|\$\{HOME\}|~[^/]*|/home/[^/]+|/Users/[^/]+|/root|/var/root)(?=/|$)")
_GLOB = re.compile(r"[*?\[]")
#: A glob with nothing but wildcards, dots and slashes (``*``, ``./*``) names everything here,
#: not a credential: it is read as one only through the directory it is in.
_NAMES_SOMETHING = re.compile(r"[^*?/.\[\]]")


def home(path: str) -> str:
    """``path`` with the home directory, however spelled, as ``~``."""
    return _HOME.sub("~", path, count=1)


def _forms(path: str, cwd: str | None) -> list[str]:
    """The path as written, folded, and with the home directory as ``~``; a relative path also
    under ``cwd``."""
    folded = home(posixpath.normpath(path)) if path else path
    out = [path, folded]
    if cwd and path and not path.startswith(("/", "~", "$")):
        out.append(home(posixpath.normpath(posixpath.join(cwd, path))))
    return out


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    """A shell glob as a regular expression: ``*`` and ``?`` stay within one name and do not
    match a leading dot (as bash without ``dotglob``); ``**`` matches across names."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        start = i == 0 or pattern[i - 1] == "/"
        if c in "*?":
            # A run of wildcards is one quantifier: `?*?*?*` as `[^/]{3,}`, not six in a row,
            # which backtrack exponentially on a name they do not match.
            j = i
            while j < len(pattern) and pattern[j] in "*?":
                j += 1
            run = pattern[i:j]
            fixed = run.count("?")
            if "**" in run:
                out.append(f".{{{fixed},}}")
            else:
                quantity = f"{{{fixed},}}" if "*" in run else f"{{{fixed}}}"
                out.append(("(?!\\.)" if start else "") + "[^/]" + quantity)
            i = j
            continue
        if c == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negated = body[:1] in ("!", "^")
            body = body[1:] if negated else body
            if not body:  # `[!]`: no set at all, a plain bracket
                out.append(re.escape(c))
                i += 1
                continue
            if "[" in body:  # [[:alpha:]] and the like: any one character, to be safe
                out.append("[^/]")
                end = pattern.find("]]", i) + 1 if "]]" in pattern[i:] else end
            else:
                out.append("[" + ("^" if negated else "") + _members(body) + "]")
            i = end + 1
            continue
        out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + "$", re.IGNORECASE)


def _members(body: str) -> str:
    """A glob's bracket expression as a regular expression's: ranges kept (``a-z``), every
    other character escaped."""
    out = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-" and body[i] <= body[i + 2]:
            out.append(f"{re.escape(body[i])}-{re.escape(body[i + 2])}")
            i += 3
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "".join(out)


def _ancestors(examples: tuple[str, ...]) -> tuple[str, ...]:
    out: set[str] = set()
    for example in examples:
        parent = posixpath.dirname(example)
        while parent and parent not in ("/", "~", "."):
            out.add(parent)
            parent = posixpath.dirname(parent)
    return tuple(sorted(out))


_CREDENTIAL_DIRECTORIES = (*_ancestors(CREDENTIAL_FILES), "/", "~", "/home", "/Users")
#: What a glob may name to carry each flag: the files, and the directories that hold them (a
#: directory of credentials counts only when it is read whole: ``tree``).
_NAMED: dict[Flag, tuple[str, ...]] = {
    flag: examples + _ancestors(examples) for flag, examples in _EXAMPLES.items()
}


#: More separate runs of wildcards than this, and a glob is taken to name anything: matching
#: such a pattern costs time that grows as a power of its length (``*a*a*a*a*a*a*a*Q``).
MAX_WILDCARD_RUNS = 6
_WILDCARD_RUN = re.compile(r"[*?]+")


def _can_name(pattern: str, examples: tuple[str, ...]) -> bool:
    """Whether a glob (or a path under ``*``) can name one of ``examples``: anywhere below
    the directory it starts from, when it is relative and names a directory of its own."""
    if not _NAMES_SOMETHING.search(pattern):
        return False
    if len(_WILDCARD_RUN.findall(pattern)) > MAX_WILDCARD_RUNS or len(pattern) > 4096:
        return True  # too costly to match: it may name anything
    if "/" not in pattern and len(_GLOB.split(pattern, maxsplit=1)[0]) < 3:
        return False  # `t*`, `*.[!r]*`: a name here that says too little to be a credential's
    regex = _glob(pattern)
    if pattern.startswith(("/", "~", "*")) or "/" not in pattern:
        return any(regex.match(e) for e in examples)
    anywhere = _anywhere(regex.pattern)  # .aws/* from the home directory
    return any(anywhere.match(e) for e in examples)


@functools.lru_cache(maxsize=1024)
def _anywhere(pattern: str) -> re.Pattern[str]:
    return re.compile("(^|.*/)(" + pattern + ")", re.IGNORECASE)


def _holds_credentials(path: str) -> bool:
    """Whether the directory ``path`` holds credential files (``~/.ssh``, ``/etc``, ``~``)."""
    if path in ("", ".", ".."):
        return False
    if _GLOB.search(path):
        return _can_name(path.rstrip("/") + "/**", CREDENTIAL_FILES)
    key = path.rstrip("/").lower() or "/"
    if key.startswith(("/", "~")):
        return key in (d.lower() for d in _CREDENTIAL_DIRECTORIES)
    # Relative: a directory of the home directory's (`.ssh`, `.config/gcloud`) wherever it is.
    return any(d.lower().endswith("/" + key) for d in _CREDENTIAL_DIRECTORIES if d[:1] == "~")


def _carries(flag: Flag, forms: list[str], tree: bool) -> bool:
    named = _EXAMPLES[flag] if flag == "credential_access" and not tree else _NAMED[flag]
    if any(_PATTERNS[flag].search(p) for p in forms):
        return True
    if any(_GLOB.search(p) and _can_name(p, named) for p in forms):
        return True
    return flag == "credential_access" and tree and any(_holds_credentials(p) for p in forms[1:])


def path_flags(path: str, cwd: str | None = None, *, tree: bool = False) -> list[Flag]:
    """The flags ``path`` carries: ``credential_access``, ``guard_tamper``, ``privileged``.

    ``cwd``: where a relative path is (:data:`SOMEWHERE`: a directory nobody knows). ``tree``:
    the path may be read whole, as a directory (``tar``, ``cp -r``), so one holding
    credentials counts.
    """
    if not path or len(path) > PATH_MAX:
        return []  # no system opens it (ENAMETOOLONG); matching it would cost quadratic time
    forms = _forms(path, cwd)
    return [flag for flag in _PATTERNS if _carries(flag, forms, tree)]


#: Raw disks and memory (credentials by what they hold, not by their name).
DEVICES = re.compile(
    r"^/dev/(mem|kmem|port)$|^/proc/kcore$|^/dev/mapper/|^/dev/disk/"
    r"|^/dev/(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+|dm-|md\d)[p\d\-]*$"
)


#: Files whose writes change nothing: what is written is thrown away or printed.
SINKS = frozenset(
    """
    /dev/null /dev/stdout /dev/stderr /dev/fd/1 /dev/fd/2 /proc/self/fd/1 /proc/self/fd/2
    """.split()
)


def discards(path: str | None) -> bool:
    """Whether writing into ``path`` (``> /dev/null``, ``curl -o /dev/null``) changes nothing.

    Only for programs that write *through* the name: ``mv x /dev/null``, ``ln -sf x
    /dev/null``, ``chmod``, ``rm`` replace or change the device itself.
    """
    return path in SINKS


def is_device(path: str) -> bool:
    """Whether ``path`` is a raw disk or memory (written, or as a glob that can name one)."""
    return bool(path) and bool(DEVICES.search(posixpath.normpath(path).replace("*", "a")))


@functools.lru_cache(maxsize=8192)
def is_credential(path: str, cwd: str | None = None, *, tree: bool = False) -> bool:
    """Whether ``path`` names a credential (see :func:`path_flags`)."""
    return 0 < len(path) <= PATH_MAX and _carries("credential_access", _forms(path, cwd), tree)


#: Names that are a credential wherever the file is (not ``config``: every tool has one).
CREDENTIAL_NAMES = frozenset(
    """
    id_rsa id_ed25519 id_ecdsa id_dsa credentials .netrc .pgpass .git-credentials .npmrc .pypirc
    .vault-token credentials.db access_tokens.db application_default_credentials.json
    accesstokens.json msal_token_cache.json credentials.tfrc.json shadow gshadow master.passwd
    opasswd environ .env terraform.tfstate terraform.tfstate.backup terraform.tfvars
    """.split()
)


def names_credential_file(name: str) -> bool:
    """Whether a file name (``find -name``), or a glob of one that starts with at least three
    plain characters (``id_*``, ``cred*``), is a credential's name wherever it is."""
    if "/" in name:  # find -path: the whole path, or its last name
        return bool(SECRET_PATHS.search(name)) or names_credential_file(posixpath.basename(name))
    lowered = name.lower()
    if not _GLOB.search(name):
        return lowered in CREDENTIAL_NAMES
    head = _GLOB.split(lowered, maxsplit=1)[0]
    regex = _glob(lowered)
    return len(head) >= 3 and any(regex.match(n) for n in CREDENTIAL_NAMES)

"""Where a file or directory is, as far as the words show: the agent's workspace, scratch
space, a regenerable artifact, the person's home, the system, or somewhere nobody can vouch for.

Standing orders read it as ``e.attributes.location`` on every ``file`` and ``directory``
effect (the gateway adds it, whichever analyzer or declaration made the effect), so a
workstation's orders can say "the working tree is the agent's, the home directory is not"::

    locate("src/app.py")                 # 'workspace'
    locate("node_modules")               # 'regenerable'
    locate("/tmp/build.log")             # 'scratch'
    locate("~/.ssh/id_ed25519")          # 'credentials'
    locate("~/.bashrc")                  # 'dotfiles'
    locate("/etc/nginx")                 # 'system'
    locate("../other-repo/x")            # 'outside'
    locate("/home/me/proj/x", cwd="/home/me/proj")   # 'workspace'

Only the words are read, never the disk: analysis may run far from the agent's machine. So
what a name might reach through a symbolic link is judged by the strict readers of it
(:func:`regenerable` for deletes), and anything computed at run time is ``unknown``.
"""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
from typing import Literal

from watchkeeper.analyzers.concerns import path_concern
from watchkeeper.analyzers.invocation import is_scratch
from watchkeeper.models import Effect

Location = Literal[
    "workspace",
    "workspace_root",
    "vcs",
    "regenerable",
    "scratch",
    "home",
    "dotfiles",
    "credentials",
    "system",
    "outside",
    "elsewhere",
    "unknown",
]

#: Locations whose changes stay on the agent's machine and can be made again: its working
#: tree, scratch space and what a build or an install regenerates.
AGENTS_OWN: frozenset[Location] = frozenset({"workspace", "regenerable", "scratch"})

#: Directories a build, an install or a test run makes again from the sources: deleting one
#: costs a rebuild, nothing else. A name, not a path: ``build`` anywhere in a project.
REGENERABLE = frozenset(
    """
    node_modules .venv venv __pycache__ .pytest_cache .mypy_cache .ruff_cache .hypothesis .tox
    .nox build dist target out obj .next .nuxt .svelte-kit .angular .parcel-cache .turbo
    .cache .gradle .eggs coverage htmlcov .coverage .terraform .dart_tool .stack-work
    _build .build .pnpm-store bower_components
    """.split()
)
#: The recovery of a regenerable artifact's delete.
REBUILD = "build or install it again"
#: File names a build regenerates (``*.egg-info`` directories, compiled objects).
_REGENERABLE_SUFFIXES = (".egg-info", ".pyc", ".pyo", ".o", ".class")

_SCRATCH = ("/tmp", "/var/tmp", "/private/tmp", "/dev/shm")
_SYSTEM = (
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/sys",
    "/proc", "/dev", "/var", "/opt", "/root", "/snap", "/System", "/Library", "/Applications",
    "/private/etc", "/private/var",
)  # fmt: skip
#: Directories of a home holding keys and tokens, and single files that are tokens.
_CREDENTIALS = frozenset(
    """
    .ssh .aws .gnupg .kube .docker .azure .netrc .pgpass .git-credentials .npmrc .pypirc
    .config/gcloud .config/gh .config/op .vault-token .terraform.d .password-store
    """.split()
)
_HOME = re.compile(r"^(?:~[^/]*|\$HOME|\$\{HOME\}|/home/[^/]+|/Users/[^/]+|/root)(?=/|$)")
_COMPUTED = re.compile(r"[$`]|<\(")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
#: ``host:path``, ``user@host:path``, ``rsync://``, ``s3://``: a path on another machine.
_REMOTE = re.compile(r"^(?:[\w.@-]+:(?!//)|[a-z][a-z0-9+.-]*://)")


def locate(path: str | None, cwd: str | None = None, *, literal: bool = False) -> Location:
    """Where ``path`` is, read from its words; ``cwd`` makes an absolute path inside the
    working directory part of the workspace. ``literal``: the analyzer read the word as
    written (``'a$b'`` in single quotes), so ``$`` and backquotes are characters of it."""
    if not path or (not literal and _COMPUTED.search(_HOME.sub("~", path, count=1))):
        return "unknown"
    if _WINDOWS_DRIVE.match(path) or path.startswith("\\\\") or _REMOTE.match(path):
        return "elsewhere"
    tree = work_tree(cwd)
    if tree is not None and path.startswith("/"):
        normal = posixpath.normpath(path)
        if normal == tree or normal.startswith(tree + "/"):
            path = posixpath.relpath(normal, tree)
    if not path.startswith(("/", "~", "$")):
        if cwd and tree is None:  # cwd /etc, ~/.ssh, /: a relative path is there, not a tree
            return locate(posixpath.join(cwd, path), literal=literal)
        return _relative(path)
    home = _HOME.match(path)
    if home is not None:
        rest = path[home.end() :].lstrip("/")
        if not rest or rest in (".", ".."):
            return "home"
        top = rest.split("/", 1)[0]
        two = "/".join(rest.split("/", 2)[:2])
        if top in _CREDENTIALS or two in _CREDENTIALS:
            return "credentials"
        return "dotfiles" if top.startswith(".") else "home"
    normal = posixpath.normpath(path)
    for root in _SCRATCH:
        if normal == root or normal.startswith(root + "/"):
            return "scratch"
    for root in _SYSTEM:
        if normal == root or normal.startswith(root + "/"):
            return "system"
    if normal == "/":
        return "system"
    return "elsewhere"


@functools.lru_cache(maxsize=256)  # one action's effects share one cwd: judged once
def work_tree(cwd: str | None) -> str | None:
    """``cwd`` normalised, when it can be a project's working tree: an absolute directory in a
    home or elsewhere, not the root, a home itself, dotfiles, credentials, the system or
    scratch space (a ``cwd`` of ``/etc`` makes ``sudoers`` the system's, not the agent's)."""
    if not cwd or not cwd.startswith("/") or _COMPUTED.search(cwd):
        return None
    root = posixpath.normpath(cwd)
    home = _HOME.match(root)
    if home is not None and not root[home.end() :].strip("/"):
        return None  # the home directory itself holds the person's files
    if locate(root) not in ("home", "elsewhere"):
        return None
    return root


def _relative(path: str) -> Location:
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        return "outside"
    parts = normal.split("/")
    if normal == "." or all(p in ("", ".") or set(p) <= set("*?") for p in parts):
        return "workspace_root"  # `rm -rf .`, `rm -rf *`: the whole working tree at once
    if ".git" in parts or any(
        p.startswith(".") and any(c in p for c in "*?[") and fnmatch.fnmatchcase(".git", p)
        for p in parts
    ):  # rm -rf .*: a glob of hidden names takes the repository's own store
        return "vcs"
    if _regenerable_name(normal):
        return "regenerable"
    return "workspace"


def _regenerable_name(path: str) -> bool:
    """Whether ``path`` names a regenerable artifact itself (its last word), literally."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name in REGENERABLE or (name.endswith(_REGENERABLE_SUFFIXES) and "*" not in name)


def regenerable(path: str | None) -> bool:
    """Whether deleting ``path`` deletes only a regenerable artifact: its last word is the
    artifact's literal name, with no trailing slash, glob or ``..``.

    ``rm -rf build`` removes a symbolic link named ``build`` as a link; ``rm -rf build/`` and
    ``rm -rf build/*`` go through it to wherever it points (an earlier ``ln -s ~ build``), so
    those are judged by where they are, not by the name.
    """
    if not path or path.endswith("/") or any(c in path for c in "*?[]{}$`"):
        return False
    if path.startswith(("/", "~")):  # /srv/prod/target, ~/.gradle: whose, nobody knows
        return False
    parts = path.split("/")
    if ".." in parts or parts[-1] in (".", ""):
        return False
    return _regenerable_name(path) and locate(path) in ("regenerable",)


def located(effect: Effect, cwd: str | None = None) -> Effect:
    """``effect`` with ``location`` among its attributes when it acts on a file or directory
    and its analyzer did not say where (one place for every analyzer and declaration)."""
    if effect.target.kind not in ("file", "directory") or "location" in effect.attributes:
        return effect
    path = effect.target.id
    where = locate(path, cwd, literal="dynamic" not in effect.flags)
    if where == "workspace_root" and effect.target.kind == "file" and effect.verb != "delete":
        where = "workspace"  # cp x ., scp host:x .: a file written into the working tree
    more: dict[str, object] = {"location": where}
    absolute = posixpath.join(cwd, path) if cwd and path and not path.startswith("/") else path
    concern = (
        None if effect.verb == "read" else path_concern(absolute and posixpath.normpath(absolute))
    )
    if concern is not None and "concern" not in effect.attributes:  # echo … >> /etc/sudoers
        more["concern"] = concern
    if (
        where == "scratch"
        and effect.verb in ("create", "update", "overwrite")
        and effect.target.kind == "file"
        and path is not None
        and is_scratch(path)
        and "scratch" not in effect.attributes
    ):  # echo x > /tmp/out.txt: scratch space holds nothing of record (one level down only:
        # /tmp/e/passwd goes through /tmp/e, which may be a link)
        more["scratch"] = True
    return effect.with_attributes(**more)

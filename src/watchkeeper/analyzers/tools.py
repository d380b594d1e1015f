"""What watchkeeper knows about each command word: one record per tool.

A record says which handler turns the tool's arguments into effects, and the facts the
dispatcher (:func:`~watchkeeper.analyzers.commands.effects_of`) reads before it calls it::

    TOOLS["git"].subcommands       # True: `git $CMD --hard` could be anything, so it asks
    TOOLS["nginx"].versions        # ('-v', '-V'): `nginx -v` alone prints the version
    TOOLS["kubectl"].reads         # the subcommands that only read: get, describe, logs…
    TOOLS["restic"].dry_run        # True: its --dry-run is documented to change nothing

Adding a tool is adding a record here; a tool with no record is judged by the words of its
subcommand (:func:`~watchkeeper.analyzers.generic.generic_cli`), and with none known it is
``unknown``. Wrappers, shells, interpreters, SQL clients and routine project work have records
of their own kind beside their code (:mod:`~watchkeeper.analyzers.wrappers`,
:mod:`~watchkeeper.analyzers.invocation`, :mod:`~watchkeeper.analyzers.routine`).
``docs/tools.md`` lists every record, written from them by :func:`reference_markdown`; a test
keeps the two the same (``WATCHKEEPER_UPDATE_DOCS=1 pytest tests/test_docs.py`` rewrites it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from watchkeeper.analyzers.generic import generic_cli
from watchkeeper.analyzers.host import (
    IP_READS,
    POWER_COMMANDS,
    SERVICE_READS,
    SYSTEMCTL_READS,
    host_tool,
    power,
    systemctl,
)
from watchkeeper.analyzers.infra import (
    DOCKER_READ_PAIRS,
    GIT_READS,
    HELM_READS,
    KUBECTL_READ_PAIRS,
    KUBECTL_READS,
    TF_READ_PAIRS,
    TF_READS,
    cloud,
    docker,
    git,
    kubectl,
    kubectx,
    terraform,
)
from watchkeeper.analyzers.invocation import Invocation
from watchkeeper.analyzers.network import LOOKUPS, SENDERS, lookup, openssl, sender
from watchkeeper.analyzers.packages import MANAGERS, packages
from watchkeeper.analyzers.readers import (
    LINTERS,
    PAGERS,
    PROGRAMMED,
    READERS,
    linter,
    pager,
    programmed,
    reader,
)
from watchkeeper.analyzers.system import (
    copy,
    crontab,
    curl,
    dd,
    httpie,
    kill,
    link,
    mongo,
    powershell,
    redis,
    rm,
    rsync,
    scp,
    simple,
    tee,
    windows_delete,
)
from watchkeeper.models import Effect

Handler = Callable[[Invocation], list[Effect]]
Family = Literal[
    "files", "disks", "reading", "paging", "reading with a program", "linting", "the host",
    "services", "processes", "scheduling", "version control", "infrastructure", "kubernetes",
    "cloud", "containers", "network", "packages", "databases", "windows", "servers", "backups",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tool:
    """What watchkeeper knows about one command word.

    ``handler`` turns an invocation into effects; ``None`` leaves the tool to the dispatcher's
    own code (an interpreter, a server) and then to the words of its subcommand. The rest are
    facts the dispatcher checks first: with ``subcommands``, a first word computed at run time
    asks; with ``help``, ``TOOL --help`` alone is a read; ``versions`` alone print the
    version; ``checks`` are first arguments that only check the tool's configuration;
    ``dry_run`` means its ``--dry-run`` is documented to change nothing. ``reads`` lists the
    subcommands (or word pairs) that only read, as the handler knows them.
    """

    family: Family
    handler: Handler | None = None
    subcommands: bool = False
    help: bool = False
    versions: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    reads: frozenset[str] = frozenset()
    dry_run: bool = False


def _tools(*groups: Mapping[str, Tool]) -> dict[str, Tool]:
    """One table from ``groups``; a name given twice is a mistake, refused at import."""
    table: dict[str, Tool] = {}
    for group in groups:
        twice = sorted(set(table) & set(group))
        if twice:
            raise ValueError(f"tools described twice: {', '.join(twice)}")
        table.update(group)
    return table


def _each(names: Iterable[str] | str, tool: Tool) -> dict[str, Tool]:
    return dict.fromkeys(names.split() if isinstance(names, str) else names, tool)


def _cli(family: Family, handler: Handler, reads: Iterable[str] = ()) -> Tool:
    """A tool whose first word names what it does, and whose ``--help`` only prints help."""
    return Tool(family, handler, subcommands=True, help=True, reads=frozenset(reads))


_PACKAGES = {name: _cli("packages", packages, MANAGERS[name].reads) for name in MANAGERS}
_PACKAGES["pacman"] = _cli("packages", packages)  # its reads are flags: -Q, -Ss, -Si
for _name in ("poetry", "uv", "pipenv", "pdm"):  # `uv $X`: the handler judges what it can
    _PACKAGES[_name] = replace(_PACKAGES[_name], subcommands=False)
_TERRAFORM = _cli("infrastructure", terraform, TF_READS | TF_READ_PAIRS)
_KUBECTL = _cli("kubernetes", kubectl, KUBECTL_READS | KUBECTL_READ_PAIRS)
_CLOUD = _cli("cloud", cloud)
_DOCKER = _cli("containers", docker, DOCKER_READ_PAIRS)
_DELETE_FILES = Tool("files", simple("delete", "file", "no"), help=True)
_WINDOWS_DELETE = Tool("windows", windows_delete)
_COPY = Tool("files", copy, help=True)
_ATTRIBUTES = Tool("files", simple("update", "file"), help=True)

#: Every command word with a record. Names here are unique (a second record for a name is an
#: error at import); the order is the order of docs/tools.md.
TOOLS: Mapping[str, Tool] = _tools(
    {
        "rm": Tool("files", rm, help=True),
        "unlink": Tool("files", rm, help=True),
        "rmdir": _WINDOWS_DELETE,  # also Windows' rd: `rmdir /s /q C:\x`
        "rd": _WINDOWS_DELETE,
        "del": _WINDOWS_DELETE,
        "erase": _WINDOWS_DELETE,
        "remove-item": _WINDOWS_DELETE,
        "shred": _DELETE_FILES,
        "wipe": _DELETE_FILES,
        "srm": _DELETE_FILES,
        "truncate": Tool("files", simple("overwrite", "file", "no"), help=True),
        "cp": _COPY,
        "mv": _COPY,
        "install": _COPY,
        "rsync": Tool("files", rsync, help=True),
        "scp": Tool("files", scp, help=True),
        "ln": Tool("files", link, help=True),
        "mkdir": Tool("files", simple("create", "directory", "yes"), help=True),
        "touch": Tool("files", simple("create", "file", "yes"), help=True),
        "tee": Tool("files", tee, help=True),
        "chmod": _ATTRIBUTES,
        "chown": _ATTRIBUTES,
        "chattr": _ATTRIBUTES,
        "dd": Tool("disks", dd),
        "mkfs": Tool("disks", simple("delete", "host", "no"), help=True),
        "wipefs": Tool("disks", simple("delete", "host", "no"), help=True),
        "fdisk": Tool("disks", simple("overwrite", "host", "no"), help=True),
        "parted": Tool("disks", simple("overwrite", "host", "no"), help=True),
    },
    _each(READERS, Tool("reading", reader)),
    _each(PAGERS, Tool("paging", pager)),
    _each(PROGRAMMED, Tool("reading with a program", programmed)),
    {name: Tool("linting", linter, reads=checks) for name, checks in LINTERS.items()},
    {
        "crontab": Tool("scheduling", crontab, help=True),
        "systemctl": _cli("services", systemctl, SYSTEMCTL_READS),
        "service": _cli("services", systemctl, SERVICE_READS),
        **_each(POWER_COMMANDS, Tool("services", power, help=True)),
        "kill": Tool("processes", kill),
        "pkill": Tool("processes", kill),
        "killall": Tool("processes", kill),
        "ip": Tool("the host", host_tool, reads=IP_READS),
        **_each("ifconfig hostname date ss", Tool("the host", host_tool)),
        "git": _cli("version control", git, GIT_READS),
        "terraform": replace(_TERRAFORM, versions=("-v", "-version")),
        "tofu": replace(_TERRAFORM, versions=("-v", "-version")),
        "terragrunt": _TERRAFORM,
        "kubectl": _KUBECTL,
        "oc": _KUBECTL,
        "helm": _cli("kubernetes", kubectl, HELM_READS),
        "kubectx": Tool("kubernetes", kubectx, help=True),
        "aws": _CLOUD,
        "gcloud": _CLOUD,
        "gsutil": _CLOUD,
        "az": _CLOUD,
        "doctl": _CLOUD,
        "docker": _DOCKER,
        "podman": _DOCKER,
        "curl": Tool("network", curl),
        "wget": Tool("network", curl),
        "http": Tool("network", httpie, help=True),
        "https": Tool("network", httpie, help=True),
        "xh": Tool("network", httpie, help=True),
        **_each(LOOKUPS, Tool("network", lookup, help=True)),
        **_each(SENDERS - {"nc", "ncat"}, Tool("network", sender, help=True)),
        "nc": Tool("network", sender),  # `nc --help` could be a host named so
        "ncat": Tool("network", sender),
        "openssl": Tool("network", lambda run: openssl(run, generic_cli), help=True),
        "dropdb": Tool(
            "databases",
            simple("delete", "db_table", "no", scope="all", object="database"),
            help=True,
        ),
        "dropuser": Tool("databases", simple("delete", "secret", "no"), help=True),
        "redis-cli": Tool("databases", redis, subcommands=True),  # `--help` may be a key
        "mongo": Tool("databases", mongo, help=True),
        "mongosh": Tool("databases", mongo, help=True),
        "powershell": Tool("windows", powershell),
        "pwsh": Tool("windows", powershell),
    },
    _PACKAGES,
    {  # servers and interpreters: only these forms are known; the rest is the dispatcher's
        "nginx": Tool("servers", versions=("-v", "-V"), checks=("-t", "-T")),
        "haproxy": Tool("servers", versions=("-v", "-vv"), checks=("-c",)),
        "httpd": Tool("servers", versions=("-v", "-V")),
        "apachectl": Tool("servers", versions=("-v", "-V"), checks=("-t", "configtest", "-S")),
        "sshd": Tool("servers", versions=("-V",), checks=("-t", "-T")),
        "caddy": Tool("servers", checks=("validate", "fmt")),
        "wrangler": Tool("servers", versions=("-v",)),
        "ssh": Tool("network", versions=("-V",)),
        "node": Tool("servers", versions=("-v",)),
        "python": Tool("servers", versions=("-V", "-VV")),
        "python3": Tool("servers", versions=("-V", "-VV")),
        "ruby": Tool("servers", versions=("-v",)),  # verbose, but alone it prints the version
        "perl": Tool("servers", versions=("-v", "-V")),
        "php": Tool("servers", versions=("-v",)),
        "java": Tool("servers", versions=("-version",)),
        "vault": Tool("servers", versions=("-v", "-version")),
        "consul": Tool("servers", versions=("-v", "-version")),
        "nomad": Tool("servers", versions=("-v", "-version")),
    },
    _each("rclone restic borg velero", Tool("backups", dry_run=True)),
    _each("helmfile ansible-playbook kustomize", Tool("infrastructure", dry_run=True)),
)


def _cell(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in sorted(values)) or "–"


def reference_markdown() -> str:
    """The records as ``docs/tools.md`` lists them: a table per family."""
    lines: list[str] = []
    families: dict[str, list[str]] = {}
    for name, tool in TOOLS.items():
        families.setdefault(tool.family, []).append(name)
    for family in sorted(families):
        lines += [
            f"## {family[0].upper()}{family[1:]}",
            "",
            "| tool | handler | subcommands | help | version | checks | dry run | reads |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in sorted(families[family]):
            tool = TOOLS[name]
            handler = getattr(tool.handler, "__name__", "") if tool.handler else ""
            shown = "a table" if handler in ("<lambda>", "build") else f"`{handler}`"
            lines.append(
                f"| `{name}` | {shown if handler else '–'} | {'yes' if tool.subcommands else ''} "
                f"| {'yes' if tool.help else ''} | {_cell(tool.versions)} | {_cell(tool.checks)} "
                f"| {'yes' if tool.dry_run else ''} | {_cell(tool.reads)} |"
            )
        lines.append("")
    return "\n".join(lines)

"""Package managers: one record per manager says what each subcommand does.

A subcommand reads only when its manager's record lists it among ``reads``. Installing changes
the host (and can be undone) and runs the scripts the registry serves with the packages
(``dynamic``: production asks); uninstalling removes what ran; running the project's scripts,
tests or code runs what watchkeeper cannot see (``dynamic``); publishing sends the package to a
registry, which in general cannot take a published version back; anything else (``npm version
patch``, ``pip config set``, a plugin's subcommand) changes the host, and is never a read::

    npm publish            send cloud_resource, irreversible, egress
    npm install            update host, reversible; execute process, dynamic
    cargo test             execute process, dynamic
    npm list               read host
"""

from __future__ import annotations

from dataclasses import dataclass

from watchkeeper.analyzers.invocation import Invocation, effect
from watchkeeper.analyzers.routine import reaches_outside, routine_of
from watchkeeper.analyzers.vocabulary import dry_run
from watchkeeper.models import Effect


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Manager:
    """What one package manager's subcommands do.

    Two-word entries (``"config get"``) match the first two words; ``alone`` lists subcommands
    that read only when nothing follows them (``npm version`` prints, ``npm version patch``
    bumps and tags).
    """

    reads: frozenset[str]
    alone: frozenset[str] = frozenset()
    installs: frozenset[str] = frozenset()
    removes: frozenset[str] = frozenset()
    #: Run the project's scripts, tests or code, or a downloaded package's.
    runs: frozenset[str] = frozenset()
    #: Build artifacts in the project: regenerable.
    builds: frozenset[str] = frozenset()
    publishes: frozenset[str] = frozenset()
    unpublishes: frozenset[str] = frozenset()
    #: Change what a registry serves or who may publish: owners, tags, tokens, logins.
    registry: frozenset[str] = frozenset()
    #: An unknown subcommand runs a script or an external program of that name.
    unknown_runs: bool = False
    #: What the manager alone does: ``read`` (it prints its usage) or a subcommand (``yarn``
    #: alone installs).
    bare: str = "read"
    #: Options before the subcommand that take the next word as their value.
    valued: frozenset[str] = frozenset()
    #: Flags that only simulate (``apt-get -s``), beside ``--dry-run``.
    simulates: frozenset[str] = frozenset()
    #: Installs that run what the registry serves: setup.py and build backends, npm
    #: lifecycle scripts, maintainer scripts as root, install hooks, build.rs. Not refreshes of
    #: the package lists (``apt-get update``) nor lockfile edits (``cargo update``).
    runs_fetched: frozenset[str] = frozenset()
    #: Flags that keep an install from running the packages' scripts.
    no_scripts: frozenset[str] = frozenset()
    #: The project directory installs go into (``node_modules``, ``.venv``) unless a flag of
    #: ``globals`` says the machine's: a local change, undone by installing again from the
    #: lockfile or deleting the directory.
    project: str = ""
    globals: frozenset[str] = frozenset()


_NPM_INSTALLS = (
    "install i in ins inst insta instal isnt isnta isntal isntall add ci clean-install ic "
    "install-clean isntall-clean update up upgrade udpate link ln dedupe ddp"
)
# fmt: off
MANAGERS: dict[str, Manager] = {
    "npm": Manager(
        reads=_words(
            "ls list ll la view v info show search s se find outdated doctor whoami help "
            "help-search root bin prefix explain why query ping get"
        )
        | {"config get", "config list", "config ls", "audit signatures", "dist-tag ls",
           "dist-tag list", "owner ls", "owner list", "access list", "access get", "team ls",
           "team list", "org ls", "token list", "profile get", "cache ls", "pkg get"},
        alone=_words("config audit version dist-tag fund"),  # `fund PKG` opens a browser
        installs=_words(_NPM_INSTALLS),
        removes=_words("uninstall remove rm r un unlink prune"),
        runs=_words(
            "run run-script rum urn test t tst start stop restart exec x rebuild rb explore "
            "install-test it install-ci-test cit init create innit pack"
        ),
        publishes=_words("publish"),
        unpublishes=_words("unpublish"),
        registry=_words(
            "deprecate undeprecate dist-tag dist-tags owner access team org star unstar hook "
            "token adduser add-user login logout profile"
        ),
        valued=_words("--prefix -C --workspace -w --registry --userconfig --cache"),
        runs_fetched=_words(_NPM_INSTALLS),
        no_scripts=_words("--ignore-scripts"),
        project="node_modules",
        globals=_words("-g --global --location=global"),
    ),
    "yarn": Manager(
        reads=_words("list info why outdated licenses versions help bin audit")
        | {"config get", "config list", "cache list", "cache dir", "npm info", "npm whoami",
           "workspaces info", "workspaces list"},
        alone=_words("config"),
        installs=_words("install add upgrade up upgrade-interactive import link dedupe"),
        removes=_words("remove unlink autoclean"),
        runs=_words("run exec dlx node create test start pack workspace workspaces"),
        publishes=frozenset({"publish", "npm publish"}),
        registry=_words("owner tag login logout npm"),
        unknown_runs=True,  # `yarn build` runs the package's "build" script
        bare="install",
        valued=_words("--cwd"),
        runs_fetched=_words("install add upgrade up upgrade-interactive import link dedupe"),
        no_scripts=_words("--ignore-scripts --mode=skip-build"),
        project="node_modules",
    ),
    "pnpm": Manager(
        reads=_words("list ls ll la outdated why licenses root bin help view info v show "
                     "search s audit")
        | {"store path", "store status", "config get", "config list", "env list"},
        alone=_words("config"),
        installs=_words("install i add update up upgrade link ln import fetch dedupe"),
        removes=_words("remove rm uninstall un unlink prune"),
        runs=_words("run exec dlx create test t start restart rebuild rb pack it install-test"),
        publishes=_words("publish"),
        unknown_runs=True,  # `pnpm build` runs the package's "build" script
        valued=_words("-C --dir --filter -F --workspace-root -w"),
        runs_fetched=_words("install i add update up upgrade link ln import dedupe"),
        no_scripts=_words("--ignore-scripts"),
        project="node_modules",
        globals=_words("-g --global"),
    ),
    "pip": Manager(
        reads=_words("list show freeze check help debug inspect search hash completion")
        | {"config list", "config get", "config debug", "cache dir", "cache info",
           "cache list", "index versions"},
        installs=_words("install download wheel"),
        removes=_words("uninstall"),
        runs_fetched=_words("install download wheel"),  # an sdist's build runs its setup.py
        valued=_words("--proxy --cert --client-cert --cache-dir --log --log-file --timeout "
                      "--retries --exists-action --trusted-host --python --keyring-provider"),
    ),
    "apt": Manager(
        reads=_words(
            "list search show showsrc policy depends rdepends madison changelog showpkg stats "
            "dump pkgnames help"
        ),
        installs=_words(
            "install reinstall upgrade full-upgrade dist-upgrade update satisfy build-dep "
            "check"  # check refreshes the package cache first
        ),
        removes=_words("remove purge autoremove autopurge"),
        runs_fetched=_words(
            "install reinstall upgrade full-upgrade dist-upgrade satisfy build-dep"
        ),
        valued=_words("-o -c -t --option --config-file --target-release"),
        simulates=_words("-s --simulate --just-print --recon --no-act"),
    ),
    "yum": Manager(
        reads=_words(
            "list info search provides whatprovides repolist repoinfo check-update check "
            "deplist repoquery updateinfo help"
        )
        | {"history list", "history info", "module list", "module info", "group list",
           "group info"},
        alone=_words("history"),
        installs=_words(
            "install update upgrade upgrade-minimal downgrade reinstall groupinstall "
            "localinstall makecache distro-sync swap"
        ),
        removes=_words("remove erase autoremove groupremove"),
        runs_fetched=_words(
            "install update upgrade upgrade-minimal downgrade reinstall groupinstall "
            "localinstall distro-sync swap"
        ),
        valued=_words("-c --config -d -e --releasever --setopt --installroot -x --exclude"),
    ),
    "brew": Manager(
        reads=_words(
            "list ls info abv search deps uses outdated leaves config doctor dr desc options "
            "commands cat formulae casks tap-info missing shellenv log"
        )
        | {"services list", "services info", "bundle check", "bundle list"},
        installs=_words("install reinstall upgrade update tap link pin unpin bundle"),
        removes=_words("uninstall remove rm untap cleanup autoremove unlink"),
        runs_fetched=_words("install reinstall upgrade bundle"),
        runs=_words("sh ruby irb test exec") | {"bundle exec"},
        unknown_runs=True,  # `brew foo` runs the external command brew-foo
    ),
    "apk": Manager(
        reads=_words("info list search policy stats dot audit verify version"),
        installs=_words("add upgrade update fix fetch cache"),
        removes=_words("del"),
        runs_fetched=_words("add upgrade fix"),
    ),
    "snap": Manager(
        reads=_words(
            "list info find search version connections interfaces services changes tasks "
            "aliases warnings get logs help known"
        ),
        installs=_words("install refresh revert enable disable connect disconnect alias "
                        "unalias set"),
        removes=_words("remove"),
        runs=_words("run"),
        runs_fetched=_words("install refresh revert"),
    ),
    "gem": Manager(
        reads=_words(
            "list search info query specification spec contents dependency environment which "
            "outdated help"
        ),
        installs=_words("install update i"),
        removes=_words("uninstall cleanup"),
        runs_fetched=_words("install update i"),  # native extensions build as they install
        runs=_words("exec build server"),  # a gemspec is Ruby: building it runs it
        publishes=_words("push"),
        unpublishes=_words("yank"),
        registry=_words("owner signin signout"),
    ),
    "cargo": Manager(
        reads=_words(
            "search tree metadata pkgid locate-project read-manifest verify-project version "
            "help info report"
        ),
        builds=_words("build b check c doc d clippy"),
        runs=_words("run r test t bench"),
        installs=_words("install add update fetch generate-lockfile vendor"),
        removes=_words("uninstall"),
        runs_fetched=_words("install"),  # builds the crate: its build.rs and proc macros run
        publishes=_words("publish"),
        unpublishes=_words("yank"),
        registry=_words("owner login logout"),
        unknown_runs=True,  # `cargo foo` runs the external command cargo-foo
        valued=_words("--manifest-path --config -Z --color"),
    ),
    # Python project managers: installs go into the project's virtual environment, and an
    # sdist's build backend (and the project's own) runs as it installs.
    "poetry": Manager(
        reads=_words("show check search about list help version")
        | {"env info", "env list", "self show", "source show"},
        installs=_words("install add update lock sync"),
        removes=_words("remove"),
        runs=_words("run shell") | {"self add", "self install", "self update"},
        builds=_words("build"),
        publishes=_words("publish"),
        valued=_words("-C --directory -P --project"),
        runs_fetched=_words("install add update sync"),
        project=".venv",
    ),
    "uv": Manager(
        reads=_words("tree help version")
        | {"pip list", "pip show", "pip freeze", "pip check", "pip tree", "python list",
           "python find", "python dir", "tool list", "tool dir", "cache dir", "self version"},
        installs=_words("sync add lock venv") | {"pip install", "pip sync", "pip compile"},
        removes=_words("remove") | {"pip uninstall"},
        runs=_words("run tool"),
        builds=_words("build"),
        publishes=_words("publish"),
        valued=_words("--directory --project --python -p --cache-dir --config-file"),
        runs_fetched=_words("sync add") | {"pip install", "pip sync"},
        project=".venv",
        globals=_words("--system"),
    ),
    "pipenv": Manager(
        reads=_words("graph check requirements scripts"),
        installs=_words("install sync update lock upgrade"),
        removes=_words("uninstall clean"),
        runs=_words("run shell"),
        runs_fetched=_words("install sync update upgrade"),
        project=".venv",
        globals=_words("--system"),
    ),
    "pdm": Manager(
        reads=_words("list show info search outdated help") | {"venv list"},
        alone=_words("config"),
        installs=_words("install sync add update lock"),
        removes=_words("remove"),
        runs=_words("run"),
        builds=_words("build"),
        publishes=_words("publish"),
        valued=_words("-p --project"),
        runs_fetched=_words("install sync add update"),
        project=".venv",
        globals=_words("--global -g"),
    ),
}
# fmt: on
MANAGERS["pip3"] = MANAGERS["pip"]
MANAGERS["apt-get"] = MANAGERS["apt"]
MANAGERS["dnf"] = MANAGERS["yum"]


def _subcommand(run: Invocation, manager: Manager) -> list[str]:
    """The words from the subcommand on, past global options and their values (and cargo's
    ``+toolchain``)."""
    known = run.known()
    i = 0
    while i < len(known) and (known[i].startswith("-") or known[i].startswith("+")):
        i += 2 if known[i] in manager.valued else 1
    return [w for w in known[i:] if not w.startswith("-")]


def packages(run: Invocation) -> list[Effect]:
    """What one package-manager command does, by its manager's record."""
    if run.base == "pacman":
        return _pacman(run)
    manager = MANAGERS[run.base]
    known = run.known()
    words = _subcommand(run, manager) or [manager.bare]
    sub, pair = words[0], " ".join(words[:2])
    if (
        sub == "read"
        or pair in manager.reads
        or sub in manager.reads
        or (len(words) == 1 and sub in manager.alone)
    ):
        return [effect("read", "host", None, reversible="yes", span=run.span)]
    simulated = dry_run(known) or any(a in manager.simulates for a in known)
    removes = sub in manager.removes or (
        sub == "install" and any(w.endswith("-") for w in words[1:])  # apt: pkg- removes it
    )
    if simulated and (removes or sub in manager.installs | manager.publishes):
        return [effect("read", "host", None, reversible="yes", span=run.span, simulated=True)]
    if pair in manager.publishes or sub in manager.publishes:
        named = words[2:3] if pair in manager.publishes else words[1:2]
        return [publish(run, named[0] if named else None)]
    local = bool(manager.project) and not any(
        a in manager.globals or a.split("=", 1)[0] in manager.globals for a in known
    )
    installs = sub in manager.installs or pair in manager.installs
    fetches = (sub in manager.runs_fetched or pair in manager.runs_fetched) and not any(
        a in manager.no_scripts for a in known
    )
    ran = pair if pair in manager.runs_fetched else sub
    if local and installs and not removes:
        # Into the project's own directory: deleting it and installing from the lockfile again
        # gives it back. Fetched packages still run their build and install scripts.
        changed = effect("update", "directory", manager.project, reversible="yes",
                         recovery=f"delete {manager.project} and install again", span=run.span,
                         tool=run.base)  # fmt: skip
        # The project's dependencies into the project: a workstation's routine.
        fetched = fetched_code(run, ran).with_attributes(runs="install")
        return [changed, fetched] if fetches else [changed]
    if removes:
        # What ran on the package stops now; installing it again may bring another version
        # and, after a purge, none of its configuration.
        return [effect("delete", "host", None, reversible="unknown",
                       recovery="install the same version again", span=run.span)]  # fmt: skip
    if sub in manager.unpublishes:
        return [effect("delete", "cloud_resource", None, reversible="unknown", flags=["egress"],
                       span=run.span, tool=run.base,
                       why="withdraws a published version")]  # fmt: skip
    if installs:
        installed = effect("update", "host", None, reversible="yes", span=run.span)
        return [installed, fetched_code(run, ran)] if fetches else [installed]
    if sub in manager.builds:
        return [effect("create", "directory", None, reversible="yes", span=run.span,
                       recovery="delete what was built", tool=run.base)]  # fmt: skip
    if sub in manager.registry:
        return [effect("update", "cloud_resource", None, reversible="unknown", flags=["egress"],
                       span=run.span, tool=run.base)]  # fmt: skip
    if pair in manager.runs or sub in manager.runs or manager.unknown_runs:
        routine = routine_of(run.base, run.args)  # npm test, cargo test: the project's own
        if routine is not None:
            return [effect("execute", "process", run.base, reversible="unknown", routine=routine,
                           span=run.span)]  # fmt: skip
        runs = effect("execute", "process", sub, flags=["dynamic"], span=run.span,
                      why=f"{run.base} {sub} runs code watchkeeper cannot see")  # fmt: skip
        own = not run.variables and not reaches_outside(run.base, run.args)
        if own and run.base in _SCRIPTED and sub in _PROJECT_RUNS:  # npm start, cargo run
            return [runs.with_attributes(runs="project")]
        return [runs]
    # A subcommand the record does not know: it changes something, nothing says it only reads.
    return [effect("update", "host", None, reversible="unknown", span=run.span, tool=run.base)]


#: Subcommands that run the project's own code (not a package fetched for the occasion).
_PROJECT_RUNS = frozenset("run r start test t bench".split())
#: Managers whose `run` runs the project's own scripts (package.json, Cargo.toml), not any
#: command named after it (`uv run rm -rf ~` is rm: see the commands' runners).
_SCRIPTED = frozenset("npm yarn pnpm cargo".split())


def fetched_code(run: Invocation, sub: str) -> Effect:
    """An install runs what the registry serves (and, run as root, as root): code nobody here
    has read. Production asks; a developer's machine installs freely."""
    return effect("execute", "process", None, flags=["dynamic"], span=run.span, tool=run.base,
                  why=f"{run.base} {sub} runs the packages' install scripts, fetched from a "
                  "registry")  # fmt: skip


def publish(run: Invocation, package: str | None) -> Effect:
    """Publishing a package: it leaves the machine for a registry, where a version once
    published is in general there for good (unpublishing is limited, and the name is spent)."""
    return effect(
        "send",
        "cloud_resource",
        package,
        reversible="no",
        recovery="publish a fixed version",
        flags=["egress"],
        span=run.span,
        tool=run.base,
        why="publishes a package to a registry",
    )


#: pacman operations that only read: query, files (unless -y refreshes), test dependencies.
_PACMAN_READS = frozenset("QFTV")
#: -S modifiers that only print: search, info, groups, list, print.
_PACMAN_PRINTS = frozenset("sigl")


def _pacman(run: Invocation) -> list[Effect]:
    """pacman names the operation with a capital letter: ``-Q`` reads, ``-S`` installs (``-Ss``
    searches), ``-R`` removes."""
    letters = "".join(a[1:] for a in run.known() if a.startswith("-") and not a.startswith("--"))
    longs = {a for a in run.known() if a.startswith("--")}
    op = next((c for c in letters if c.isupper()), "")
    if "--remove" in longs or op == "R":
        return [effect("delete", "host", None, reversible="unknown",
                       recovery="install the same version again", span=run.span)]  # fmt: skip
    if "--help" in longs or "--version" in longs or letters in ("h", "V"):
        return [effect("read", "host", None, reversible="yes", span=run.span)]
    reads = op in _PACMAN_READS and not (op == "F" and "y" in letters)
    prints = op == "S" and any(c in _PACMAN_PRINTS for c in letters) and "y" not in letters
    if (reads or prints or (op == "S" and "p" in letters)) and not longs - {"--quiet"}:
        return [effect("read", "host", None, reversible="yes", span=run.span)]
    changed = effect("update", "host", None, reversible="unknown" if op != "S" else "yes",
                     span=run.span, tool="pacman")  # fmt: skip
    if op in ("S", "U"):  # -S and -Syu install from the repositories, -U a package file
        return [changed, fetched_code(run, f"-{op}")]
    return [changed]

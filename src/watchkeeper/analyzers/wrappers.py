"""Wrappers: commands that run another command (``sudo``, ``env``, ``nice``, ``timeout``…).

:func:`wrapped_start` says where the command a wrapper runs begins; the dispatcher analyzes
that command. Given no command, a wrapper prints (``env``, ``sudo``), or opens a session
(``sudo -s``, ``chroot /mnt``, ``su``): :func:`alone` says which, and only the first reads.
"""

from __future__ import annotations

from watchkeeper.analyzers.invocation import (
    Analyze,
    Invocation,
    computed,
    effect,
    flagged,
)
from watchkeeper.analyzers.routine import reaches_outside
from watchkeeper.analyzers.secrets import secret_read
from watchkeeper.models import Effect

#: Wrappers, and their options that take the next word as their value.
_TAKES_VALUE: dict[str, set[str]] = {
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


def wrapped_start(run: Invocation) -> int | None:
    """Where the command a wrapper runs begins among its arguments; None for no wrapper."""
    base, args = run.base, run.args
    if base not in _TAKES_VALUE:
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
            i += 2 if a in _TAKES_VALUE[base] or _value_follows(a, _TAKES_VALUE[base]) else 1
            continue
        break
    if base == "timeout" and i < len(args):
        i += 1  # the duration
    if base == "chroot" and i < len(args):
        i += 1  # the new root
    return i


def _value_follows(bundle: str, valued: set[str]) -> bool:
    """A short-option bundle whose first letter taking a value is its last: the value is the
    next word (``sudo -iu postgres``); earlier, the rest of the bundle is it (``-uroot``)."""
    if bundle.startswith("--"):
        return False
    for j, c in enumerate(bundle[1:], start=1):
        if f"-{c}" in valued:
            return j == len(bundle) - 1
    return False


#: Wrappers that, given no command, print something or nothing at all: ``nice`` the niceness,
#: ``sudo`` its usage (``env`` the environment, which holds secrets: a credential read).
ALONE_READS = frozenset(
    "nice time command builtin nohup timeout stdbuf watch setsid unbuffer exec".split()
)


def alone(run: Invocation) -> list[Effect]:
    """A wrapper without a command to run."""
    known = run.known()
    if run.base in ("sudo", "doas") and any(
        a in ("--shell", "--login", "--edit")
        or (a.startswith("-") and not a.startswith("--") and _session_letter(a[1:]))
        for a in known
    ):  # sudo -s, sudo -i: a root shell; sudo -e: an editor as root
        return [effect("execute", "process", None, flags=["dynamic", "privileged"],
                       span=run.span, why="an interactive root session")]  # fmt: skip
    if run.base == "chroot":  # runs an interactive shell in the new root
        return [effect("execute", "process", None, flags=["dynamic", "privileged"],
                       span=run.span, why="an interactive shell in another root")]  # fmt: skip
    if run.base == "env" and not {"-i", "--ignore-environment"} & set(known):
        return [secret_read(run, "prints the environment")]
    if run.base == "ionice" and any(a.startswith(("-c", "-n")) for a in known):
        return [effect("update", "process", None, span=run.span, why="changes I/O priority")]
    if run.base in ALONE_READS or run.base in ("sudo", "doas", "ionice", "env"):
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    return [effect("unknown", "process", run.base, span=run.span, why="a wrapper alone")]


def _session_letter(bundle: str) -> bool:
    """Whether a sudo short-option bundle holds -s, -i or -e before a letter taking a value."""
    for c in bundle:
        if c in "sie":
            return True
        if c in "ugChprtUDRT":
            return False
    return False


def su(run: Invocation, analyze: Analyze) -> list[Effect]:
    """``su -c CMD USER`` and ``runuser``: CMD runs through the user's shell; without ``-c``,
    an interactive session."""
    args = run.args
    for i, a in enumerate(args):
        text: str | bool | None = False
        if a in ("-c", "--command", "--session-command"):
            text = args[i + 1] if i + 1 < len(args) else None
        elif a is not None and a.startswith(("--command=", "--session-command=")):
            text = a.split("=", 1)[1]
        if text is False:
            continue
        found = (
            analyze(str(text), run.field, depth=run.depth + 1)
            if isinstance(text, str)
            else [computed(run, f"{run.base} -c runs text built at run time")]
        )
        return [flagged(e, "privileged") for e in found]
    return [effect("execute", "process", None, flags=["dynamic", "privileged"], span=run.span,
                   why="an interactive session as another user")]  # fmt: skip


#: Programs that run the program named in their words (a tracer, a sandbox, a package runner,
#: a build tool's recipe): the words after it are that program's, so a read word there
#: (`strace ./wipe.sh status`, `npx evil list`) says nothing. Empty: whatever the words; else
#: the subcommands that run one (`poetry run`, `go run`, `tmux new-window CMD`).
RUNNERS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        """
        strace ltrace valgrind gdb lldb npx bunx uvx java xvfb-run torsocks proxychains
        proxychains4 tsocks firejail bwrap unshare nsenter setpriv gosu su-exec chpst faketime
        flock fakeroot eatmydata nocache cpulimit prlimit systemd-run pkexec sshpass entr
        watchexec nodemon dbus-run-session dbus-launch catchsegv chronic taskset chrt numactl
        cgexec trickle expect make gmake just task rake invoke tox nox
        """.split(),
        frozenset(),
    ),
    **dict.fromkeys(
        "poetry pipenv pdm hatch conda mamba micromamba pipx volta".split(), frozenset({"run"})
    ),
    **dict.fromkeys("bundle pyenv rbenv nodenv direnv asdf fnm".split(), frozenset({"exec"})),
    "uv": frozenset({"run", "tool"}),
    "mise": frozenset({"exec", "x", "run", "r"}),
    "rtx": frozenset({"exec", "x", "run", "r"}),
    "nvm": frozenset({"exec", "run"}),
    "go": frozenset({"run", "test", "generate", "tool"}),
    "dotnet": frozenset({"run", "test", "exec", "tool", "watch"}),
    "nix": frozenset({"run", "shell", "develop"}),
    "nix-shell": frozenset(),
    "perf": frozenset({"record", "stat", "trace", "script", "kvm"}),
    "tmux": frozenset(
        """
        new new-session new-window neww split-window splitw respawn-pane respawnp
        respawn-window respawnw run-shell run send-keys send if-shell if pipe-pane pipep
        source-file source display-popup popup command-prompt
        """.split()
    ),
    "screen": frozenset(),
}
_ALONE_RUN = frozenset("tmux screen nix-shell make gmake just task rake invoke tox nox".split())
#: Listing flags of recipe runners: they print the recipes, running none.
_LISTS = frozenset({"--list", "-l", "--summary", "--list-all", "-T", "--tasks", "-ls", "-list"})


def runner(run: Invocation) -> list[Effect] | None:
    """``strace ./x list``, ``npx evil list``, ``poetry run ./x``: a program runs, and what it
    does is its own; None when the words run nothing (``tmux ls``, ``go vet``)."""
    known = run.known()
    if known[:1] and (known[0] in ("--help", "-h", "--version", "-V") or known[0] in _LISTS):
        return None
    subcommands = RUNNERS[run.base]
    if not run.args:  # tmux alone opens a session, make alone runs the first recipe
        if run.base not in _ALONE_RUN:
            return None
    elif subcommands and None not in run.args and not subcommands & set(known):
        return None  # any word: options before the subcommand may take values (`tmux -S s new`)
    ran = effect("execute", "process", None, flags=["dynamic"], span=run.span,
                 why=f"{run.base} runs a program its words name")  # fmt: skip
    if (
        run.base in _RECIPES
        and "/" not in run.name
        and not run.variables  # MAKEFILES=…, MAKEFLAGS=…: recipes from elsewhere
        and not reaches_outside(run.base, run.args)  # -C~, -f /tmp/x.mk, --justfile=…
        and not any(a is None or "=" in a for a in run.args)  # make CC=./evil
    ):  # make all, just dev, rake db:seed: the project's own recipes
        return [ran.with_attributes(runs="project")]
    return [ran]


#: Runners of the recipes a project defines (its Makefile, justfile, Rakefile, tox.ini).
_RECIPES = frozenset("make gmake just task rake invoke tox nox".split())

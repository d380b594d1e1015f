"""What commands do to the host itself: services, power, network, name and clock.

A service manager reads only when its subcommand is one of :data:`SYSTEMCTL_READS` (or
:data:`SERVICE_READS`); stopping a service deletes its process; rebooting, powering off or
switching the whole system to another target stops every process on the host. Anything else a
service manager is told to do (start, enable, reload, edit, link…) changes the host. ``reboot``,
``shutdown``, ``poweroff``, ``halt``, ``init`` and ``telinit`` are power commands whatever their
arguments: the command word is the action. ``ip``, ``ifconfig``, ``hostname``, ``date`` and
``ss`` read only when their words ask to show, never when they name a change (see
:func:`host_tool`).
"""

from __future__ import annotations

from watchkeeper.analyzers.invocation import Invocation, dynamic, effect, paths_of
from watchkeeper.models import Effect

#: systemctl subcommands that only read or print (``systemctl`` alone lists units).
SYSTEMCTL_READS = frozenset(
    """
    status show cat list-units list-sockets list-timers list-automounts list-paths
    list-unit-files list-dependencies list-jobs list-machines is-active is-failed is-enabled
    is-system-running get-default help
    """.split()
)
#: `service NAME ACTION` actions that only read; `service --status-all` reads too.
SERVICE_READS = frozenset({"status"})
#: Stop what runs: the process is gone until someone starts it again.
_STOPS = frozenset("stop kill disable mask".split())
#: Subcommands that take the whole system down or to another target: every process stops.
_POWER = frozenset(
    """
    reboot poweroff halt kexec soft-reboot suspend hibernate hybrid-sleep suspend-then-hibernate
    rescue emergency isolate default switch-root
    """.split()
)
#: Commands whose word is the power action.
POWER_COMMANDS = frozenset("reboot shutdown poweroff halt init telinit".split())
#: systemctl options that take the next word as their value (`-t service list-units`).
_VALUED = frozenset(
    """
    -t --type -s --signal -p --property -n --lines -o --output -H --host -M --machine --root
    --job-mode --kill-whom --kill-value --what --state --preset-mode --timestamp --image
    --reboot-argument --boot-loader-entry --boot-loader-menu --message --when --drop-in
    --check-inhibitors --image-policy
    """.split()
)


def power(run: Invocation, action: str | None = None) -> list[Effect]:
    """Rebooting, powering off, halting or isolating a target: every process on the host stops.

    Irreversible in the sense that matters: work in flight is lost, and a host powered off
    stays down until someone turns it on.
    """
    action = action or run.base
    recovery = "the host comes back after the reboot" if "reboot" in action else None
    return [
        effect("update", "host", None, scope="all", reversible="no", recovery=recovery,
               flags=["privileged"], span=run.span, action=action,
               why="stops every process on the host")
    ]  # fmt: skip


def _words(known: list[str]) -> list[str]:
    words, skip = [], False
    for a in known:
        if skip:
            skip = False
        elif a in _VALUED:
            skip = True
        elif not a.startswith("-"):
            words.append(a)
    return words


def systemctl(run: Invocation) -> list[Effect]:
    """systemctl and service: the subcommand (``service NAME ACTION``: the action) decides."""
    words = _words(run.known())
    if run.base == "service":
        if "--status-all" in run.known() or not words:  # alone, it prints its usage
            return [effect("read", "process", None, reversible="yes", span=run.span)]
        sub = words[1] if len(words) > 1 else ""
        if sub in SERVICE_READS:
            return [effect("read", "process", words[0], reversible="yes", span=run.span)]
        unit: str | None = words[0]
    else:
        sub = words[0] if words else ""
        unit = words[1] if len(words) > 1 else None
        if sub in SYSTEMCTL_READS or not words:
            return [effect("read", "process", unit, reversible="yes", span=run.span)]
    if sub in _POWER:
        return power(run, sub)
    if sub in _STOPS:
        return [effect("delete", "process", unit, flags=["privileged"], span=run.span)]
    if sub == "clean":  # removes the unit's state, cache, logs or runtime directories
        return [effect("delete", "directory", unit, reversible="no", flags=["privileged"],
                       span=run.span)]  # fmt: skip
    # start, restart, enable, reload, daemon-reload, edit, link, set-property, …
    return [effect("update", "process", unit, reversible="unknown", flags=["privileged"],
                   span=run.span, action=sub)]  # fmt: skip


#: `ip OBJECT ACTION`: the actions that show. ip takes any prefix of a command and tries them in
#: its own order (`ip link s` is `set`), so only these spellings read; no action shows too.
IP_READS = frozenset("show sh list lst ls get monitor help".split())
_IP_VALUED = frozenset("-n -netns -f -family -l -loops -rc -rcvbuf".split())
#: Options that only choose what to print.
_IFCONFIG_READS = frozenset("-a -s -v -l -u -d".split())
_HOSTNAME_READS = frozenset(
    """
    -a --alias -A --all-fqdns -d --domain -f --fqdn --long -i --ip-address -I --all-ip-addresses
    -s --short -y --yp --nis -V --version -h --help -v --verbose
    """.split()
)
_DATE_VALUED = frozenset("-d --date -r --reference -f --file".split())


def _ip_words(known: list[str]) -> list[str] | None:
    """The words of an ``ip`` line, or None when it reads commands from a file (``-b``)."""
    words, skip = [], False
    for a in known:
        if skip:
            skip = False
        elif a in ("-b", "-batch", "-force") or a.startswith("-batch"):
            return None
        elif a in _IP_VALUED:
            skip = True
        elif not a.startswith("-"):
            words.append(a)
    return words


def _changes(run: Invocation) -> bool:
    known = run.known()
    words = paths_of(run)
    if run.base == "ifconfig":  # `ifconfig eth0 down`, `ifconfig eth0 -promisc`
        return len(words) > 1 or any(a not in _IFCONFIG_READS for a in known if a[0] == "-")
    if run.base == "hostname":  # `hostname NAME`, `hostname -F FILE`, `hostname -b NAME`
        return bool(words) or any(a not in _HOSTNAME_READS for a in known if a[0] == "-")
    if run.base == "date":  # `date -s …`, `date MMDDhhmm`: set the clock
        skip = False
        for a in known:
            if skip:
                skip = False
            elif a in _DATE_VALUED:
                skip = True
            elif a in ("-s", "--set") or a.startswith("--set=") or not a.startswith(("-", "+")):
                return True
        return False
    return any(a in ("-K", "--kill") for a in known)  # ss


def host_tool(run: Invocation) -> list[Effect]:
    """``ip``, ``ifconfig``, ``hostname``, ``date``, ``ss``: a read when their words show;
    changing the network, the name or the clock, or killing sockets, is a privileged update."""
    if run.base == "ip":
        words = _ip_words(run.known())
        if words is None:
            return [dynamic("ip -batch runs commands from a file", run.span)]
        change = len(words) > 1 and words[1] not in IP_READS
    elif run.base == "ss" and any(a.split("=", 1)[0] in ("-D", "--diag") for a in run.known()):
        return [dynamic("ss -D writes raw socket data to a file", run.span)]
    else:
        change = _changes(run)
    if change:
        return [effect("update", "host", None, reversible="unknown", flags=["privileged"],
                       span=run.span, tool=run.base)]  # fmt: skip
    return [effect("read", "host", None, reversible="yes", span=run.span)]

"""Holds a person recognises by name: access granted, root handed out, a protection, logging or
backups turned off, a machine or service shut down.

An effect that does one of these carries ``concern`` among its attributes, and the standing
orders hold it with a reason that says so in one line, not with the fallback "watchkeeper
cannot tell what this does". The knowledge is data: a record per program (which words do
what) and a table of paths::

    command_concern("iptables", ["-F"])              # 'protection_off'
    command_concern("systemctl", ["stop", "nginx"])  # 'shutdown'
    path_concern("/etc/sudoers.d/90-agent")          # 'root_access'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

Concern = Literal[
    "grants_access", "root_access", "protection_off", "logging_off", "backups_off", "shutdown"
]

#: What each concern means, in one line: the reason a person reads.
REASONS: Mapping[Concern, str] = {
    "grants_access": "grants access or permissions to someone (IAM, role bindings, ACLs)",
    "root_access": "hands out root: sudoers, setuid, privileged groups or the user database",
    "protection_off": "turns off a protection: a firewall, SELinux or AppArmor, a security "
    "service or detector",
    "logging_off": "turns off or erases logging or auditing",
    "backups_off": "deletes or disables backups or snapshots",
    "shutdown": "shuts down or stops a machine or a service",
}

#: Services that protect, log or back up: stopping one is that concern, not a plain stop.
_UNITS: Mapping[str, Concern] = {
    **dict.fromkeys(
        "firewalld ufw nftables iptables ip6tables netfilter-persistent apparmor selinux "
        "fail2ban crowdsec clamav-daemon clamav-freshclam falco wazuh-agent osqueryd "
        "falcon-sensor".split(),
        "protection_off",
    ),
    **dict.fromkeys(
        "auditd rsyslog syslog syslog-ng systemd-journald journald filebeat fluentd fluent-bit "
        "vector promtail datadog-agent splunkd".split(),
        "logging_off",
    ),
    **dict.fromkeys("restic borg borgmatic bacula-fd duplicity timeshift".split(), "backups_off"),
}
_PRIVILEGED_GROUPS = frozenset("sudo wheel admin root docker adm lxd disk shadow".split())
_SETUID = re.compile(r"^(?:[ugoa]*[+=][rwxXt]*s[rwxXst]*|[0-7]?[2-7][0-7]{3})$")


_STOPS = ("stop", "disable", "mask", "kill")
_POWER = ("poweroff", "halt", "reboot", "suspend", "isolate", "rescue", "emergency")


def _systemctl(words: list[str]) -> Concern | None:
    plain = [w for w in words if not w.startswith("-")]
    if not plain or plain[0] not in _STOPS + _POWER:
        return None
    if plain[0] in _POWER:
        return "shutdown"
    units = [u.removesuffix(".service").removesuffix(".socket") for u in plain[1:]]
    return next((_UNITS[u] for u in units if u in _UNITS), "shutdown" if units else None)


def _service(words: list[str]) -> Concern | None:  # service nginx stop
    if len(words) >= 2 and words[1] == "stop":
        return _UNITS.get(words[0], "shutdown")
    return None


def _iptables(words: list[str]) -> Concern | None:
    if any(w in ("-F", "--flush", "-X", "--delete-chain") for w in words):
        return "protection_off"
    for i, w in enumerate(words):
        if w in ("-P", "--policy") and "ACCEPT" in words[i + 1 : i + 3]:
            return "protection_off"
    return None


def _nft(words: list[str]) -> Concern | None:
    plain = [w for w in words if not w.startswith("-")]
    return "protection_off" if plain[:1] in (["flush"], ["delete"]) else None


def _ufw(words: list[str]) -> Concern | None:
    return "protection_off" if words[:1] in (["disable"], ["reset"]) else None


def _setenforce(words: list[str]) -> Concern | None:
    return "protection_off" if words[:1] in (["0"], ["permissive"], ["Permissive"]) else None


def _chmod(words: list[str]) -> Concern | None:
    return "root_access" if any(_SETUID.match(w) for w in words) else None


def _groups(words: list[str]) -> Concern | None:  # usermod -aG sudo bob, gpasswd -a bob wheel
    named = {g for w in words for g in w.split(",")}
    return "root_access" if named & _PRIVILEGED_GROUPS else None


def _auditctl(words: list[str]) -> Concern | None:
    if "-D" in words or any(words[i : i + 2] == ["-e", "0"] for i in range(len(words))):
        return "logging_off"
    return None


def _journalctl(words: list[str]) -> Concern | None:
    return "logging_off" if any(w.startswith(("--vacuum", "--rotate")) for w in words) else None


def _always(concern: Concern) -> Callable[[list[str]], Concern | None]:
    return lambda words: concern


def _shutdown(words: list[str]) -> Concern | None:
    return None if any(w in ("-c", "--help") for w in words) else "shutdown"


def _kill(words: list[str]) -> Concern | None:
    return "shutdown" if any(w in ("1", "-1") for w in words if not w.startswith("-s")) else None


def _init(words: list[str]) -> Concern | None:
    return "shutdown" if words[:1] in (["0"], ["6"], ["1"], ["s"]) else None


#: Cloud subcommand words, as written after the service (``aws iam attach-user-policy``).
_CLOUD: tuple[tuple[re.Pattern[str], Concern], ...] = (
    (re.compile(r"(^|[\s-])(attach|put|add|set|update-assume)-?.*(polic|role|binding|member)"
                r"|create-(access-key|login-profile|service-account-key)|add-iam-policy-binding"
                r"|set-iam-policy|role assignment create|grant|keys create|create-key"
                r"|create-policy-version|set-default-policy-version|add-metadata|ssh-keys"
                r"|modify-\w*-attribute|add-permission|update-login-profile"
                r"|create-(saml|open-id-connect)-provider|put-bucket-(policy|acl)"
                r"|put-object-acl|share"), "grants_access"),
    (re.compile(r"stop-logging|delete-trail|delete-log-group|delete-flow-logs|sinks delete"
                r"|diagnostic-settings delete|delete-log-stream"), "logging_off"),
    (re.compile(r"firewall-rules (create|update)|authorize-security-group|nsg rule (create|update)"
                r"|network-acl|create-function-url-config|delete-public-access-block"
                r"|put-public-access-block|delete-detector|disable-security-hub"
                r"|disable-organization-admin"
                r"|stop-configuration-recorder|delete-configuration-recorder|disable-ebs-encryption"
                r"|delete-web-acl|revoke-security-group|disassociate-members"), "protection_off"),
    (re.compile(r"delete-backup-vault|delete-recovery-point|delete-backup-plan|delete-db-snapshot"
                r"|delete-db-cluster-snapshot|delete-snapshot|backups delete|snapshots delete"
                r"|delete-vault"), "backups_off"),
)  # fmt: skip


def _cloud(words: list[str]) -> Concern | None:
    text = " ".join(w for w in words if not w.startswith("-"))[:200]
    return next((concern for rx, concern in _CLOUD if rx.search(text)), None)


def _kubectl(words: list[str]) -> Concern | None:
    plain = [w for w in words if not w.startswith("-")]
    if plain[:1] == ["create"] and plain[1:2] in (["rolebinding"], ["clusterrolebinding"]):
        return "grants_access"
    if plain[:1] == ["delete"] and plain[1:2] in (["networkpolicy"], ["networkpolicies"]):
        return "protection_off"
    return None


_BACKUP_LOSSES = frozenset(
    "forget delete prune disable compact rdelete repo-delete recreate".split()
)


def _local_backups(words: list[str]) -> Concern | None:  # restic forget, borg compact
    plain = [w for w in words if not w.startswith("-")]
    return "backups_off" if plain[:1] and plain[0] in _BACKUP_LOSSES else None


def _nginx(words: list[str]) -> Concern | None:  # nginx -s stop, apachectl stop
    stops = ("stop", "quit", "graceful-stop")
    return "shutdown" if any(w in stops for w in words) else None


def _zfs(words: list[str]) -> Concern | None:
    plain = [w for w in words if not w.startswith("-")]
    return "backups_off" if plain[:1] == ["destroy"] and any("@" in w for w in plain) else None


#: Each program's record: what its words do that a person must hear about by name.
COMMANDS: Mapping[str, Callable[[list[str]], Concern | None]] = {
    "systemctl": _systemctl,
    "service": _service,
    **dict.fromkeys("iptables ip6tables iptables-legacy iptables-nft ebtables".split(), _iptables),
    "nft": _nft,
    "ufw": _ufw,
    "setenforce": _setenforce,
    "chmod": _chmod,
    **dict.fromkeys("usermod gpasswd adduser useradd".split(), _groups),
    "visudo": _always("root_access"),
    "sudoedit": _always("root_access"),
    "chpasswd": _always("root_access"),
    "auditctl": _auditctl,
    "journalctl": _journalctl,
    **dict.fromkeys("shutdown reboot poweroff halt".split(), _shutdown),
    **dict.fromkeys("init telinit".split(), _init),
    **dict.fromkeys("kill pkill killall".split(), _kill),
    **dict.fromkeys("aws gcloud az doctl".split(), _cloud),
    **dict.fromkeys("kubectl oc".split(), _kubectl),
    **dict.fromkeys("restic borg tmutil".split(), _local_backups),
    **dict.fromkeys("nginx apachectl apache2ctl httpd".split(), _nginx),
    "zfs": _zfs,
}


def command_concern(program: str, words: list[str]) -> Concern | None:
    """The concern of running ``program`` with the literal ``words``, if any."""
    record = COMMANDS.get(program)
    return record(words) if record is not None else None


_PATHS: tuple[tuple[re.Pattern[str], Concern], ...] = (
    (re.compile(r"^/etc/(sudoers(\.d(/.*)?)?|passwd|shadow|group|gshadow|pam\.d(/.*)?"
                r"|security/.*|doas\.conf)$"), "root_access"),
    (re.compile(r"^/var/log(/.*)?$|^/var/audit(/.*)?$|(^|/)\.(bash|zsh)_history$"), "logging_off"),
    (re.compile(r"^/etc/(ufw|nftables\.conf|iptables(/.*)?|selinux/config|apparmor(\.d)?(/.*)?)$"),
     "protection_off"),
)  # fmt: skip


def path_concern(path: str | None) -> Concern | None:
    """The concern of changing the file at ``path`` (a write, not a read)."""
    if not path:
        return None
    return next((concern for rx, concern in _PATHS if rx.search(path)), None)

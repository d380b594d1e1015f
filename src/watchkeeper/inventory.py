"""Which environment an action is in: from what it touches, not only from what it claims.

``environments.<name>.match`` declares how targets are recognised. The inventory reads the
action's input, keys and values, for targets: absolute paths (as written and normalised, so
``/srv/dev/../prod`` is prod), hosts (URLs, ``user@host``, ``host:port``, dotted names), cloud
account, project and subscription ids, and Kubernetes contexts and Terraform workspaces given
in fields named for them. Analyzers add the environments of the effects they report.

Placement, the strictest reading of the evidence:

* an action is judged in every environment its targets are in, plus the declared environment
  it claims; the strictest result is taken;
* with no claim, it is judged only where its targets are if **every** target it names was
  recognised; a path or host no environment claims makes the environment unknown;
* unknown (an undeclared claim, no claim and no evidence, an input too large to read whole, an
  effect in an undeclared environment) means every declared environment.

    inventory = Inventory(orders)
    placement = inventory.place(action)
    placement.environments   # ('prod',) — or several, or every declared one when unknown
    placement.single         # 'prod' when exactly one, else None
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from watchkeeper.models import Action, Effect
from watchkeeper.orders.model import StandingOrders

_TOKEN = re.compile(r"[^\s'\"`=,;|&<>(){}]+")
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")
_HOST_PORT = re.compile(r"([a-z0-9_.-]+):(\d{1,5})(?:/.*)?")
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_PIECES = re.compile(r"[/:=@]")
_REMOTE_PATH = re.compile(r"([a-z0-9_][a-z0-9_.-]*\.[a-z0-9_.-]+):(?:[/~].*)?")
_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_STRUCTURE = re.compile(r"[/~.@:\\%\u3002\uff0e\uff61]")
MAX_STRINGS = 200_000  # a large plan holds tens of thousands
_CONTEXT_KEYS = frozenset(
    {"context", "kube_context", "kubecontext", "kubeconfig_context", "k8s_context"}
)
#: Remote kinds whose target is wherever the tool's current configuration points.
_REMOTE_KINDS = {
    "terraform_resource": "Terraform workspace",
    "k8s_resource": "Kubernetes context",
    "cloud_resource": "cloud account",
}
#: Effect attributes that say where an action acts (read out of commands by analyzers).
PLACING = frozenset({"context", "workspace", "profile", "project", "subscription", "account"})
_WORKSPACE_KEYS = frozenset({"workspace", "terraform_workspace", "tf_workspace"})
#: Fields whose value is a host even when written as a bare name (``db-prod-3``).
_HOST_KEYS = frozenset(
    {
        "host",
        "hosts",
        "hostname",
        "host_name",
        "server",
        "address",
        "target_host",
        "ip",
        "ip_address",
    }
)


def glob_regex(pattern: str, *, path: bool) -> re.Pattern[str]:
    """A glob as a regex: ``*`` (within one path segment when ``path``), ``**`` (any depth).

    A path pattern ending in ``/`` means everything under it, like ``/**``.
    """
    if path and pattern.endswith("/") and len(pattern) > 1:
        pattern += "**"
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**", i) and path:
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*" if path else ".*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]" if path else ".")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), 0 if path else re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an action is judged. ``environments`` is empty when the orders declare none."""

    environments: tuple[str, ...]
    single: str | None
    note: str | None = None


@dataclass
class Evidence:
    """What the input shows: environments with a reason each, and targets nobody claims."""

    found: dict[str, str] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)
    complete: bool = True

    def copy(self) -> Evidence:
        """An independent copy, for adding what analyzers found."""
        return Evidence(dict(self.found), list(self.unplaced), self.complete)

    def add(self, env: str, why: str) -> None:
        """Record that the action is in ``env`` because of ``why`` (the first reason stays)."""
        self.found.setdefault(env, why)


def _walk(value: Any, strings: list[str], pairs: list[tuple[str, Any]]) -> bool:
    """Collect strings (keys too) and key/value pairs; False when the limit cut it short."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(strings) >= MAX_STRINGS:
                return False
            strings.append(item)
        elif isinstance(item, Mapping):
            for k, v in item.items():
                pairs.append((str(k), v))
                stack.append(str(k))
                stack.append(v)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def path_candidates(token: str) -> list[str]:
    """Absolute paths a token names: ``/a``, ``host:/a``, ``/a:/b``, ``-C/a``, ``file:///a``."""
    text = token.strip("[]").lstrip("@")
    if "://" in text:  # a URL names a host, and a path only when it is a file URL
        return [urlsplit(text).path] if text.lower().startswith("file://") else []
    out = []
    for piece in text.split(":"):
        if piece.startswith("//"):  # //host/share is a host, not a local path
            continue
        if piece.startswith(("/", "~")):
            out.append(piece)
        elif piece.startswith("-") and "/" in piece:
            out.append(piece[piece.index("/") :])
    return out


def _literal_prefix(pattern: str) -> str:
    """The part of a path pattern before its first wildcard: ``/srv/prod/**`` → ``/srv/prod/``."""
    cut = next((i for i, c in enumerate(pattern) if c in "*?[{"), len(pattern))
    return _normal(pattern[:cut]) + ("/" if cut < len(pattern) and pattern[cut - 1] == "/" else "")


def _normal(path: str) -> str:
    if path.startswith("~"):
        head, _, rest = path.partition("/")
        return head + ("/" + posixpath.normpath("/" + rest).lstrip("/") if rest else "")
    return posixpath.normpath(path).replace("//", "/")


def _bare_host(text: str) -> str:
    """The host a host field names: ``root@db7:5432`` → ``db7``; brackets of IPv6 dropped."""
    for host, _ in host_candidates(text):
        return host
    host = text.lower().rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0].rstrip(".")


def host_candidates(token: str) -> list[tuple[str, bool]]:
    """Hosts a token names, each with whether the form says for certain it is a host."""
    text = token.lower().replace("\\", "/").translate(_IDEOGRAPHIC_DOTS)
    if "://" in text or text.startswith("//"):
        try:
            host = urlsplit(text if "://" in text else "x:" + text).hostname
        except ValueError:
            return []
        return [(unquote(host).rstrip("."), True)] if host else []
    if "@" in text:
        host = text.rsplit("@", 1)[1].split("/", 1)[0].split(":", 1)[0].rstrip(".")
        return [(host, True)] if _HOST.fullmatch(host) else []
    port = _HOST_PORT.fullmatch(text)
    if port:
        return [(port.group(1).rstrip("."), True)]
    # scp/rsync: db.prod.internal:/data/. Only where a host name can end (253 characters):
    # the pattern is quadratic in what precedes the colon.
    remote = _REMOTE_PATH.fullmatch(text) if 0 < text.find(":") <= 253 else None
    if remote:
        return [(remote.group(1).rstrip("."), True)]
    if text.startswith("-") and len(text) > 2 and not text.startswith("--"):
        return [(h, False) for h, _ in host_candidates(text[2:])]  # psql -hdb.prod.internal
    head = text.split("/", 1)[0].rstrip(".")
    if _IPV4.fullmatch(head):  # an address is a host for certain, never a file name
        return [(head, True)]
    # A dotted name may be a host or a file name (main.py): it can place, never unplace.
    return [(head, False)] if "." in head and _HOST.fullmatch(head) else []


class Inventory:
    """The environment patterns of one set of standing orders, compiled once."""

    def __init__(self, orders: StandingOrders) -> None:
        self.orders = orders
        #: Where what nothing places is judged (``unplaced: true``); None: every environment.
        self.fallback = orders.fallback
        self._paths: list[tuple[str, str, re.Pattern[str]]] = []
        self._hosts: list[tuple[str, str, re.Pattern[str]]] = []
        self._ids: dict[str, tuple[str, str]] = {}
        self._contexts: list[tuple[str, str, re.Pattern[str]]] = []
        self._workspaces: list[tuple[str, str, re.Pattern[str]]] = []
        for name, env in orders.environments.items():
            m = env.match
            self._paths += [(name, p, glob_regex(p, path=True)) for p in m.get("paths", ())]
            self._hosts += [(name, h, glob_regex(h, path=False)) for h in m.get("hosts", ())]
            self._contexts += [
                (name, c, glob_regex(c, path=False)) for c in m.get("kube_contexts", ())
            ]
            self._workspaces += [
                (name, w, glob_regex(w, path=False)) for w in m.get("terraform_workspaces", ())
            ]
            for kind, label in (
                ("aws_accounts", "AWS account"),
                ("aws_profiles", "AWS profile"),
                ("gcp_projects", "Google Cloud project"),
                ("azure_subscriptions", "Azure subscription"),
            ):
                for ident in m.get(kind, ()):
                    self._ids.setdefault(ident.lower(), (name, f"{label} {ident}"))
        self._any = bool(
            self._paths or self._hosts or self._ids or self._contexts or self._workspaces
        )

    def evidence(self, action: Action) -> Evidence:
        """Everything the action's input shows about where it acts."""
        ev = Evidence()
        if not self._any:  # no environment says how to recognise it: nothing to find
            return ev
        strings: list[str] = []
        pairs: list[tuple[str, Any]] = []
        ev.complete = _walk(action.input, strings, pairs)
        for key, value in pairs:
            name = key.lower().replace("-", "_")
            if name in _HOST_KEYS:
                self._field(ev, key, value, self._hosts, _bare_host)
            elif name in _CONTEXT_KEYS:
                self._field(ev, key, value, self._contexts, str)
            elif name in _WORKSPACE_KEYS:
                self._field(ev, key, value, self._workspaces, str)
        for text in strings:
            for account in _ARN_ACCOUNT.findall(text):
                self._id(ev, account)
            for token in _TOKEN.findall(text):
                self._token(ev, token)
        return ev

    def _field(
        self,
        ev: Evidence,
        key: str,
        value: Any,
        table: list[tuple[str, str, re.Pattern[str]]],
        read: Any,
    ) -> None:
        """A field named for what it holds (a host, a context): its values must be recognised."""
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for item in items:
            if not isinstance(item, str):
                continue
            target = read(item)
            matched = False
            for env, pattern, rx in table:
                if rx.fullmatch(target):
                    matched = True
                    ev.add(env, f"{key} {item!r} matches {pattern!r}")
            if not matched:
                ev.unplaced.append(item)

    def _effect_targets(self, ev: Evidence, effect: Effect, cwd: str | None = None) -> None:
        """What an analyzer read out of a command: a kube context, a workspace, a host."""
        attrs = effect.attributes
        for key, table in (("context", self._contexts), ("workspace", self._workspaces)):
            value = attrs.get(key)
            if isinstance(value, str):
                self._field(ev, key, value, table, str)
        if effect.target.kind == "host" and effect.target.id:
            self._field(ev, "host", effect.target.id, self._hosts, _bare_host)
        server = attrs.get("host")  # psql -h db-3: the database is on that host
        if isinstance(server, str) and effect.target.kind in ("db_table", "db_rows"):
            self._field(ev, "host", server, self._hosts, _bare_host)
        if (
            self.fallback is not None
            and effect.verb != "read"
            and effect.target.kind in _REMOTE_KINDS
            and not PLACING & attrs.keys()
        ):  # terraform apply, kubectl delete: the current workspace or context, whichever it is
            ev.unplaced.append(f"the current {_REMOTE_KINDS[effect.target.kind]}")
        if effect.target.kind in ("file", "directory") and effect.target.id:
            self._path(ev, effect.target.id, cwd)
        for key in ("profile", "project", "subscription", "account"):
            value = attrs.get(key)
            if isinstance(value, str):
                self._id(ev, value)

    def _path(self, ev: Evidence, path: str, cwd: str | None) -> None:
        """A path an analyzer resolved (``rm -rf /srv/"prod"`` acts on /srv/prod), and what it
        reaches: deleting /srv, or /srv/p*, deletes /srv/prod too."""
        if not path.startswith(("/", "~")):
            if cwd is None or not cwd.startswith(("/", "~")):
                return
            path = posixpath.join(cwd, path)
        glob = next((i for i, c in enumerate(path) if c in "*?["), None)
        literal = _normal(path if glob is None else posixpath.dirname(path[:glob]) or "/")
        for env, pattern, rx in self._paths:
            if rx.fullmatch(literal) or rx.fullmatch(_normal(path)):
                ev.add(env, f"path {path!r} matches {pattern!r}")
                continue
            if _literal_prefix(pattern).startswith(literal.rstrip("/") + "/"):
                ev.add(env, f"path {path!r} holds {pattern!r}")

    def _id(self, ev: Evidence, ident: str) -> None:
        known = self._ids.get(ident.lower())
        if known is not None:
            ev.add(*known)

    def _token(self, ev: Evidence, token: str) -> None:
        structured = _STRUCTURE.search(token) is not None
        if self._ids:
            for piece in _PIECES.split(token) if structured else (token,):
                self._id(ev, piece)
        if not structured:  # a plain word names no path and no host
            return
        for path in path_candidates(token):
            envs = set()
            for form in dict.fromkeys((path, _normal(path))):
                for env, pattern, rx in self._paths:
                    if rx.fullmatch(form):
                        envs.add(env)
                        ev.add(env, f"path {path!r} matches {pattern!r}")
            if not envs:
                ev.unplaced.append(path)
        for host, certain in host_candidates(token):
            matched = False
            for env, pattern, rx in self._hosts:
                if rx.fullmatch(host):
                    matched = True
                    ev.add(env, f"host {host!r} matches {pattern!r}")
            if certain and not matched:
                ev.unplaced.append(host)

    def place(
        self, action: Action, effects: Sequence[Effect] = (), evidence: Evidence | None = None
    ) -> Placement:
        """Where ``action`` is judged, from its claim, its input and its analyzed ``effects``.

        ``evidence``, when the caller already read it from the input, is not read again.
        """
        declared = self.orders.environments
        if not declared:
            return Placement((), None)
        names = list(declared)

        def everywhere(why: str) -> Placement:
            return Placement(
                tuple(names),
                None,
                f"{why}; judged as every declared environment ({', '.join(names)}) and the "
                "strictest result taken",
            )

        claim = action.environment
        if claim is not None and claim not in declared:
            return everywhere(f"environment {claim!r} is not declared")
        ev = self.evidence(action) if evidence is None else evidence.copy()
        if not ev.complete:
            return everywhere(f"the input holds more than {MAX_STRINGS} strings to place")
        cwd = action.input.get("cwd") if isinstance(action.input.get("cwd"), str) else None
        for effect in effects:
            self._effect_targets(ev, effect, cwd)
            env = effect.environment
            if env is None:
                continue
            if env not in declared:
                return everywhere(f"analyzer {effect.analyzer!r} reports environment {env!r}")
            ev.add(env, f"analyzer {effect.analyzer!r}")
        fallback = self.fallback
        if ev.unplaced:
            shown = ", ".join(
                t if t.startswith("the current ") else repr(t)
                for t in list(dict.fromkeys(ev.unplaced))[:3]
            )
            if fallback is not None and (claim is None or claim not in self.orders.strictest):
                # A claim of dev does not place what nothing recognises; a claim of the
                # strictest environment needs no evidence, nothing is laxer.
                ev.add(fallback, f"no environment claims {shown}")
            elif claim is None:
                return everywhere(f"no environment claims {shown}")
        chosen = [n for n in names if n == claim or n in ev.found]
        if not chosen and fallback is not None:
            return Placement((fallback,), fallback, "nothing places the action")
        if not chosen:
            return everywhere("no environment is known")
        shown_by = [f"{n} ({ev.found[n]})" for n in chosen if n in ev.found and n != claim]
        if len(chosen) == 1:
            only = chosen[0]
            return Placement((only,), only, None if only == claim else f"in {shown_by[0]}")
        claimed = f"; claimed {claim}" if claim else ""
        return Placement(
            tuple(chosen),
            None,
            f"the action touches {', '.join(shown_by)}{claimed}; judged in each and the "
            "strictest result taken",
        )

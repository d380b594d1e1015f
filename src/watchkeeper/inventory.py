"""Which environment an action is in: from what it touches, not only from what it claims.

``environments.<name>.match`` declares how targets are recognised. The inventory reads the
action's input for paths, host names and AWS account ids (in ARNs) and places the action in
every environment whose patterns match. The agent's own ``environment`` claim is a hint that can
only make things stricter: a declared claim is added to what the input shows, and an undeclared
one makes the environment unknown. An action judged in several environments, or in an unknown
one (then: every declared environment), takes the strictest result::

    inventory = Inventory(orders)
    placement = inventory.place(action)
    placement.environments   # ('prod',) — or several, or every declared one when unknown
    placement.single         # 'prod' when exactly one, else None

Kubernetes contexts and Terraform workspaces are read by the analyzers that understand those
tools' arguments; here they match only when the input names them outright (``context``,
``kube_context``, ``workspace``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.models import Action
from watchkeeper.orders.model import StandingOrders

_TOKEN = re.compile(r"[^\s'\"`=,;|&<>(){}\[\]]+")
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_HOSTLIKE = re.compile(r"(?:[a-z0-9-]+\.)+[a-z0-9-]+")
_MAX_STRINGS = 10_000
_CONTEXT_KEYS = ("context", "kube_context", "kubecontext")
_WORKSPACE_KEYS = ("workspace", "terraform_workspace", "tf_workspace")


def glob_regex(pattern: str, *, path: bool) -> re.Pattern[str]:
    """A glob as a regex: ``*`` (within one path segment when ``path``), ``**`` (any depth)."""
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
    return re.compile("".join(out), re.IGNORECASE if not path else 0)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an action is judged. ``environments`` is empty when the orders declare none."""

    environments: tuple[str, ...]
    single: str | None
    note: str | None = None


def _strings(value: Any, out: list[str]) -> None:
    if len(out) >= _MAX_STRINGS:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)


class Inventory:
    """The environment patterns of one set of standing orders, compiled once."""

    def __init__(self, orders: StandingOrders) -> None:
        self.orders = orders
        self._paths: list[tuple[str, str, re.Pattern[str]]] = []
        self._hosts: list[tuple[str, str, re.Pattern[str]]] = []
        self._accounts: dict[str, str] = {}
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
            for account in m.get("aws_accounts", ()):
                self._accounts.setdefault(account, name)
        self._any = bool(
            self._paths or self._hosts or self._accounts or self._contexts or self._workspaces
        )

    def touched(self, action: Action) -> dict[str, str]:
        """Environment → the evidence, for every environment the input shows it touches."""
        found: dict[str, str] = {}
        if not self._any:
            return found
        for key, table in ((_CONTEXT_KEYS, self._contexts), (_WORKSPACE_KEYS, self._workspaces)):
            for k in key:
                value = action.input.get(k)
                if isinstance(value, str):
                    for env, pattern, rx in table:
                        if env not in found and rx.fullmatch(value):
                            found[env] = f"{k} {value!r} matches {pattern!r}"
        strings: list[str] = []
        _strings(action.input, strings)
        for text in strings:
            for account in _ARN_ACCOUNT.findall(text) if self._accounts else ():
                owner = self._accounts.get(account)
                if owner is not None and owner not in found:
                    found[owner] = f"AWS account {account}"
            for token in _TOKEN.findall(text):
                for env, evidence in self._token(token):
                    found.setdefault(env, evidence)
        return found

    def _token(self, token: str) -> Iterator[tuple[str, str]]:
        if token.startswith(("/", "~")):
            for env, pattern, rx in self._paths:
                if rx.fullmatch(token):
                    yield env, f"path {token!r} matches {pattern!r}"
        if self._hosts:
            host = _host_of(token)
            if host:
                for env, pattern, rx in self._hosts:
                    if rx.fullmatch(host):
                        yield env, f"host {host!r} matches {pattern!r}"

    def place(self, action: Action) -> Placement:
        declared = self.orders.environments
        if not declared:
            return Placement((), None)
        names = list(declared)
        claim = action.environment
        if claim is not None and claim not in declared:
            return Placement(
                tuple(names),
                None,
                f"environment {claim!r} is not declared; judged as every declared environment "
                f"({', '.join(names)}) and the strictest result taken",
            )
        touched = self.touched(action)
        chosen = [n for n in names if n == claim or n in touched]
        if not chosen:
            return Placement(
                tuple(names),
                None,
                f"no environment is known; judged as every declared environment "
                f"({', '.join(names)}) and the strictest result taken",
            )
        evidence = [f"{n} ({touched[n]})" for n in chosen if n in touched and n != claim]
        if len(chosen) == 1:
            only = chosen[0]
            return Placement((only,), only, None if only == claim else f"in {evidence[0]}")
        claimed = f"; claimed {claim}" if claim else ""
        return Placement(
            tuple(chosen),
            None,
            f"the action touches {', '.join(evidence)}{claimed}; judged in each and the "
            "strictest result taken",
        )


def _host_of(token: str) -> str | None:
    """The host name a token names: a URL's host, ``user@host``, ``host:port`` or a bare name."""
    text = token.lower()
    if "://" in text:
        try:
            return urlsplit(text).hostname
        except ValueError:
            return None
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = text.split(":", 1)[0].rstrip(".")
    # A bare word ("rm", "prod") is too weak to place an action; a dotted name is a host.
    return text if "." in text and _HOSTLIKE.fullmatch(text) else None

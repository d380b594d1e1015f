"""Settings, each declared once with its name, default and help.

Every setting is read from ``WATCHKEEPER_<NAME>`` in the environment; ``docs/settings.md`` is
generated from :data:`SETTINGS` (a test keeps it current)::

    settings = Settings.from_env()            # or Settings.from_env({"WATCHKEEPER_…": …})
    registry = Registry(settings.limits())

A value that cannot be read raises ``UsageError`` naming the variable, the value and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.errors import UsageError
from watchkeeper.wording import seconds


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on analysis (see :mod:`watchkeeper.analyzers.registry`), set by the settings
    ``max_input_bytes``, ``max_effects`` and ``analyzer_budget_ms``."""

    # A `terraform show -json` of 10,000 changes is tens of megabytes; a shell command is not.
    max_input_bytes: int = 32 * 1024 * 1024
    max_effects: int = 10_000  # CEL stops after 10,000 iterations in one evaluation anyway
    budget_seconds: float = 0.25


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, default, help and parser."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return "WATCHKEEPER_" + self.name.upper()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("it is not a whole number") from None
    if value <= 0:
        raise ValueError("it must be greater than zero")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("it is not a number") from None
    if not 0 < value < float("inf"):
        raise ValueError("it must be a finite number greater than zero")
    return value


def _expiry(text: str) -> str:
    if text.strip() != "never" and not (seconds(text) or 0) > 0:
        raise ValueError("it is not a duration (90d, 12h, 30m) or `never`")
    return text.strip()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "orders",
        None,
        "Standing orders file or directory for `check`, `explain` and `test`. "
        "Unset: `./watchkeeper.yaml` when it exists, else the built-in defaults.",
    ),
    Setting(
        "analyzer_budget_ms",
        Limits().budget_seconds * 1000,
        "Longest an analyzer may take on one action, in milliseconds; slower is a `deny`.",
        _positive_float,
    ),
    Setting(
        "max_input_bytes",
        Limits().max_input_bytes,
        "Largest action input analyzers accept, in bytes of canonical JSON; larger is a `deny`.",
        _positive_int,
    ),
    Setting(
        "max_effects",
        Limits().max_effects,
        "Most effects one analyzer may report for one action; more is a `deny`.",
        _positive_int,
    ),
)
SETTINGS += (
    Setting(
        "db",
        None,
        "Database URL for the audit log and state: `sqlite:///PATH` or "
        "`postgresql://USER@HOST:PORT/DB`. Unset: `check` records nothing; `audit`, `db` and the "
        "server use `sqlite:///.watchkeeper/watchkeeper.db`.",
    ),
    Setting(
        "audit_key",
        ".watchkeeper/audit.key",
        "File holding the Ed25519 key that signs audit checkpoints (created, mode 0600, on "
        "first use). Keep it off the database's machine to make rewriting history detectable.",
    ),
    Setting(
        "audit_origin",
        "watchkeeper/audit",
        "The log's name in checkpoints and the key's name: make it unique, e.g. "
        "`watchkeeper.example.com/prod-audit`.",
    ),
    Setting(
        "checkpoint_every",
        1000,
        "Sign a checkpoint after this many new audit events.",
        _positive_int,
    ),
    Setting(
        "checkpoint_seconds",
        60.0,
        "Sign a checkpoint when this many seconds have passed since the last one (checked as "
        "events arrive).",
        _positive_float,
    ),
    Setting(
        "public_url",
        "http://127.0.0.1:8470",
        "The server's address as people reach it: notifications link to approvals under it.",
    ),
    Setting(
        "token_expires",
        "90d",
        "How long a personal token works unless `users token --expires` says otherwise: a "
        "duration (`90d`, `12h`) or `never`.",
        _expiry,
    ),
    Setting(
        "max_waits_per_agent",
        32,
        "Most approval waits (`GET /v1/approvals/{id}?wait=`) one agent or person may hold open "
        "at once on one server; more answer 429 with `Retry-After`.",
        _positive_int,
    ),
)
SETTING = {s.name: s for s in SETTINGS}
ORDERS_ENV = SETTING["orders"].env


@dataclass(frozen=True, slots=True)
class Settings:
    """Values of every setting; ``from_env`` reads them."""

    orders: str | None = SETTING["orders"].default
    analyzer_budget_ms: float = SETTING["analyzer_budget_ms"].default
    max_input_bytes: int = SETTING["max_input_bytes"].default
    max_effects: int = SETTING["max_effects"].default
    db: str | None = SETTING["db"].default
    audit_key: str = SETTING["audit_key"].default
    audit_origin: str = SETTING["audit_origin"].default
    checkpoint_every: int = SETTING["checkpoint_every"].default
    checkpoint_seconds: float = SETTING["checkpoint_seconds"].default
    public_url: str = SETTING["public_url"].default
    token_expires: str = SETTING["token_expires"].default
    max_waits_per_agent: int = SETTING["max_waits_per_agent"].default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is None or raw == "":
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise UsageError(
                    f"{setting.env}={raw!r} cannot be used: {exc}. Set it to a valid value, "
                    f"or unset it to use the default ({setting.default}). "
                    f"It is: {setting.help}"
                ) from exc
        return cls(**values)

    def token_seconds(self) -> float | None:
        """How long a new personal token works, in seconds; ``None``: until revoked."""
        return None if self.token_expires == "never" else float(seconds(self.token_expires) or 0)

    def limits(self) -> Limits:
        """The analyzer bounds these settings ask for."""
        return Limits(
            max_input_bytes=self.max_input_bytes,
            max_effects=self.max_effects,
            budget_seconds=self.analyzer_budget_ms / 1000,
        )


def reference_markdown() -> str:
    """The table of ``docs/settings.md``."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "unset" if s.default is None else f"`{s.default}`"
        lines.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"

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
from dataclasses import dataclass, field, fields
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


def _idle(text: str) -> float:
    value = _positive_float(text)
    if not 1 <= value <= 86400:
        raise ValueError("it must be from 1 to 86400 seconds")
    return value


def _switch(text: str) -> str:
    if text not in ("0", "1"):
        raise ValueError("it is neither 0 (off) nor 1 (on)")
    return text


def _expiry(text: str) -> str:
    if text.strip() != "never" and not (seconds(text) or 0) > 0:
        raise ValueError("it is not a duration (90d, 12h, 30m) or `never`")
    return text.strip()


def _duration(text: str) -> str:
    if not (seconds(text) or 0) > 0:
        raise ValueError("it is not a duration (30m, 12h, 1d)")
    return text.strip()


def _declared(default: Any, help: str, parse: Callable[[str], Any] = str) -> Any:
    """A field of :class:`Settings` declaring one setting: its default, its help (in
    ``docs/settings.md``) and how its environment variable is read."""
    return field(default=default, metadata={"help": help, "parse": parse})


@dataclass(frozen=True, slots=True)
class Settings:
    """Values of every setting, each declared once, here; ``from_env`` reads them from
    ``WATCHKEEPER_<NAME>``, and :data:`SETTINGS` (the reference) is made from these fields."""

    orders: str | None = _declared(
        None,
        "Standing orders file or directory for `check`, `explain` and `test`. "
        "Unset: `./watchkeeper.yaml` when it exists, else the built-in defaults.",
    )
    analyzer_budget_ms: float = _declared(
        Limits().budget_seconds * 1000,
        "CPU time an analyzer may spend on one action, in milliseconds (four times that on "
        "the clock); more is a `deny`.",
        _positive_float,
    )
    max_input_bytes: int = _declared(
        Limits().max_input_bytes,
        "Largest action input analyzers accept, in bytes of canonical JSON; larger is a `deny`.",
        _positive_int,
    )
    max_effects: int = _declared(
        Limits().max_effects,
        "Most effects one analyzer may report for one action; more is a `deny`.",
        _positive_int,
    )
    db: str | None = _declared(
        None,
        "Database URL for the audit log and state: `sqlite:///PATH` or "
        "`postgresql://USER@HOST:PORT/DB`. Unset: `check` records nothing; `audit`, `db` and the "
        "server use `sqlite:///.watchkeeper/watchkeeper.db`.",
    )
    audit_key: str = _declared(
        ".watchkeeper/audit.key",
        "File holding the Ed25519 key that signs audit checkpoints (created, mode 0600, on "
        "first use). Keep it off the database's machine to make rewriting history detectable.",
    )
    audit_origin: str = _declared(
        "watchkeeper/audit",
        "The log's name in checkpoints and the key's name: make it unique, e.g. "
        "`watchkeeper.example.com/prod-audit`.",
    )
    checkpoint_every: int = _declared(
        1000, "Sign a checkpoint after this many new audit events.", _positive_int
    )
    checkpoint_seconds: float = _declared(
        60.0,
        "Sign a checkpoint when this many seconds have passed since the last one (checked as "
        "events arrive).",
        _positive_float,
    )
    public_url: str = _declared(
        "http://127.0.0.1:8470",
        "The server's address as people reach it: notifications link to the console's pages "
        "under it, and with `https://` the console's cookie is `Secure`.",
    )
    token_expires: str = _declared(
        "90d",
        "How long a personal token works unless `users token --expires` says otherwise: a "
        "duration (`90d`, `12h`) or `never`.",
        _expiry,
    )
    max_waits_per_agent: int = _declared(
        32,
        "Most approval waits (`GET /v1/approvals/{id}?wait=`) one agent or person may hold open "
        "at once on one server; more answer 429 with `Retry-After`.",
        _positive_int,
    )
    console_idle: str = _declared(
        "30m",
        "A console sign-in ends after this long without a page viewed or a form sent: a "
        "duration (`30m`, `1h`).",
        _duration,
    )
    console_max: str = _declared(
        "12h",
        "A console sign-in ends this long after it began, however active: a duration (`12h`).",
        _duration,
    )
    server: str = _declared(
        "http://127.0.0.1:8470",
        "The server the people's commands talk to (`approvals`, `pause`, `resume`); "
        "`--server` overrides it.",
    )
    token: str | None = _declared(
        None,
        "A person's token for those commands (`watchkeeper users token EMAIL` prints one); "
        "`--token` overrides it. A secret: keep it out of shell history and logs.",
    )
    warm: str = _declared(
        "1",
        "`1`: the doors run once per tool call (the Claude Code hook, `sh`, `exec`, "
        "`check --json`) hand their work to a decider the first call starts, which keeps the "
        "orders compiled ([how](claude-code.md#start-up)); `0`: every call works in its own "
        "process.",
        _switch,
    )
    warm_idle_seconds: float = _declared(
        900.0,
        "A warm decider leaves after this many seconds without a request (1 to 86400).",
        _idle,
    )

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

    def console_seconds(self) -> tuple[float, float]:
        """A console sign-in's idle and absolute timeouts, in seconds."""
        return float(seconds(self.console_idle) or 0), float(seconds(self.console_max) or 0)

    def limits(self) -> Limits:
        """The analyzer bounds these settings ask for."""
        return Limits(
            max_input_bytes=self.max_input_bytes,
            max_effects=self.max_effects,
            budget_seconds=self.analyzer_budget_ms / 1000,
        )


#: Every setting, in the order declared: the reference ``docs/settings.md`` is made from these.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], f.metadata["parse"]) for f in fields(Settings)
)
SETTING = {s.name: s for s in SETTINGS}
ORDERS_ENV = SETTING["orders"].env


def reference_markdown() -> str:
    """The table of ``docs/settings.md``."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "unset" if s.default is None else f"`{s.default}`"
        lines.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"

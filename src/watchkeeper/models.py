"""The values watchkeeper passes around: actions, effects and decisions.

All are frozen dataclasses with a documented JSON form (``to_json`` / ``from_json``); see
``docs/decisions.md``. Build an action from JSON the agent sent::

    action = Action.from_json({"agent": "support-bot", "tool": "refund", "input": {"amount": 150}})
    action.digest("prod")  # 'sha256:…' — binds a later approval to exactly this action
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from watchkeeper.canonical import canonical_json, canonical_text, digest_bytes
from watchkeeper.errors import InvalidAction, UsageError

VERBS = (
    "read", "create", "update", "overwrite", "delete", "execute",
    "grant", "transfer", "send", "unknown",
)  # fmt: skip
TARGET_KINDS = (
    "file", "directory", "git_ref", "db_table", "db_rows", "cloud_resource", "k8s_resource",
    "terraform_resource", "secret", "process", "host", "money", "message", "unknown",
)  # fmt: skip
SCOPES = ("one", "many", "all")
REVERSIBILITY = ("yes", "no", "unknown")
FLAGS = (
    "obfuscated", "dynamic", "privileged", "egress", "credential_access", "guard_tamper",
)  # fmt: skip


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(choices)}"


@dataclass(frozen=True, slots=True)
class Intent:
    """What the agent says it is trying to do. ``kind`` is what charters' ``intents`` list."""

    kind: str | None = None
    goal: str | None = None
    plan: str | list[str] | None = None
    step: str | int | None = None
    rationale: str | None = None
    #: What the agent is unsure of, in its own words: shown to the approver.
    doubts: str | None = None
    #: What the agent relied on and where its inputs came from (a ticket, a log line, a URL).
    evidence: str | list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The intent's JSON form, without absent fields."""
        return {k: v for k, v in _intent_items(self) if v is not None}


def _intent_items(intent: Intent) -> list[tuple[str, Any]]:
    return [
        ("kind", intent.kind),
        ("goal", intent.goal),
        ("plan", intent.plan),
        ("step", intent.step),
        ("rationale", intent.rationale),
        ("doubts", intent.doubts),
        ("evidence", intent.evidence),
    ]


MAX_TOOL_NAME = 256
_ACTION_KEYS = ("agent", "session", "tool", "input", "environment", "intent", "context")
_INTENT_KEYS = ("kind", "goal", "plan", "step", "rationale", "doubts", "evidence")


@dataclass(frozen=True, slots=True)
class Action:
    """One thing an agent wants to do: a tool call with its input, the agent and its intent.

    ``input`` and ``context`` are plain JSON objects; treat them as read-only.
    """

    tool: str
    input: Mapping[str, Any] = field(default_factory=dict)
    agent: str | None = None
    session: str | None = None
    environment: str | None = None
    intent: Intent | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Action:
        """Validate the action JSON form; raise ``InvalidAction`` naming the first bad field."""
        if not isinstance(data, Mapping):
            raise InvalidAction(
                "action", f"expected a JSON object, got {_json_type(data)}; send {{'tool': …}}"
            )
        for key in data:
            if key not in _ACTION_KEYS:
                raise InvalidAction(
                    str(key), f"unknown field {key!r}{_suggest(str(key), _ACTION_KEYS)}"
                )
        tool = data.get("tool")
        if not isinstance(tool, str) or not tool:
            raise InvalidAction(
                "tool",
                f"required non-empty string, got {tool!r}; name the tool being called",
            )
        if len(tool) > MAX_TOOL_NAME:
            raise InvalidAction(
                "tool", f"a name of {len(tool)} characters is longer than {MAX_TOOL_NAME}"
            )
        input_ = data.get("input", {})
        if input_ is None:
            input_ = {}
        if not isinstance(input_, Mapping):
            raise InvalidAction(
                "input",
                f"expected a JSON object of the tool's arguments, got {_json_type(input_)}; "
                'wrap it, e.g. {"command": …}',
            )
        context = data.get("context") or {}
        if not isinstance(context, Mapping):
            raise InvalidAction("context", f"expected a JSON object, got {_json_type(context)}")
        return cls(
            tool=tool,
            input=dict(input_),
            agent=_opt_str(data, "agent"),
            session=_opt_str(data, "session"),
            environment=_opt_str(data, "environment"),
            intent=_intent_from_json(data.get("intent")),
            context=dict(context),
        )

    def to_json(self) -> dict[str, Any]:
        """The documented action JSON form; ``from_json`` reads it back."""
        out: dict[str, Any] = {"tool": self.tool, "input": dict(self.input)}
        for key in ("agent", "session", "environment"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.intent is not None:
            out["intent"] = self.intent.to_json()
        if self.context:
            out["context"] = dict(self.context)
        return out

    def digest_document(self, environment: str | None) -> dict[str, Any]:
        """The exact object the action digest covers: agent, tool, input, resolved environment."""
        return {
            "agent": self.agent,
            "environment": environment,
            "input": self.input,
            "tool": self.tool,
        }

    def digest(self, environment: str | None, input_json: bytes | None = None) -> str:
        """``sha256:`` over the canonical JSON of :meth:`digest_document`.

        Session, intent and context are left out on purpose: the same command retried later, or
        explained differently, is the same action and must meet the same approval.
        ``input_json``, the canonical JSON of ``input`` when the caller has it already, saves
        encoding the input twice; the bytes hashed are the same.
        """
        if input_json is None:
            return digest_bytes(canonical_json(self.digest_document(environment)))
        # Keys in canonical (sorted) order: agent, environment, input, tool.
        return digest_bytes(
            b'{"agent":'
            + canonical_text(self.agent)
            + b',"environment":'
            + canonical_text(environment)
            + b',"input":'
            + input_json
            + b',"tool":'
            + canonical_text(self.tool)
            + b"}"
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _opt_str(data: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidAction(f"{prefix}{key}", f"expected a string or null, got {_json_type(value)}")


def _intent_from_json(data: Any) -> Intent | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InvalidAction(
            "intent",
            "expected an object with kind, goal, plan, step, rationale, doubts, evidence; "
            f"got {_json_type(data)}",
        )
    for key in data:
        if key not in _INTENT_KEYS:
            raise InvalidAction(
                f"intent.{key}", f"unknown field {key!r}{_suggest(str(key), _INTENT_KEYS)}"
            )
    plan, evidence = _texts(data, "plan"), _texts(data, "evidence")
    step = data.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, str | int)):
        raise InvalidAction(
            "intent.step", f"expected a string or an integer, got {_json_type(step)}"
        )
    return Intent(
        kind=_opt_str(data, "kind", "intent."),
        goal=_opt_str(data, "goal", "intent."),
        plan=plan,
        step=step,
        rationale=_opt_str(data, "rationale", "intent."),
        doubts=_opt_str(data, "doubts", "intent."),
        evidence=evidence,
    )


def _texts(data: Mapping[str, Any], key: str) -> str | list[str] | None:
    """``intent.<key>``: a string, a list of strings, or absent."""
    value = data.get(key)
    if value is not None and not (
        isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        raise InvalidAction(
            f"intent.{key}", f"expected a string or a list of strings, got {_json_type(value)}"
        )
    return cast("str | list[str] | None", value)


@dataclass(frozen=True, slots=True)
class Target:
    """What an effect acts on: a ``kind`` from ``TARGET_KINDS`` and an optional ``id``."""

    kind: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """Where in the action's input an effect was found: a field path and character offsets."""

    field: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Effect:
    """What an analyzer says an action really does.

    ``attributes`` carries declared, tool-specific values (``amount`` for a refund).
    """

    verb: str
    target: Target
    environment: str | None = None
    scope: str = "one"
    count: int | None = None
    reversible: str = "unknown"
    recovery: str | None = None
    flags: frozenset[str] = frozenset()
    span: Span | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    analyzer: str = ""

    @classmethod
    def of(
        cls,
        analyzer: str,
        verb: str,
        kind: str,
        ident: str | None = None,
        *,
        scope: str = "one",
        reversible: str = "unknown",
        recovery: str | None = None,
        flags: Sequence[str] | frozenset[str] = (),
        span: Span | None = None,
        **attributes: Any,
    ) -> Effect:
        """The way analyzers build effects: ``Effect.of("sql", "delete", "db_rows", "users")``."""
        return cls(
            verb=verb,
            target=Target(kind, ident),
            scope=scope,
            reversible=reversible,
            recovery=recovery,
            flags=frozenset(flags),
            span=span,
            attributes=attributes,
            analyzer=analyzer,
        )

    def in_environment(self, environment: str) -> Effect:
        """This effect, placed in ``environment`` (a cheaper ``dataclasses.replace``)."""
        return Effect(
            self.verb,
            self.target,
            environment,
            self.scope,
            self.count,
            self.reversible,
            self.recovery,
            self.flags,
            self.span,
            self.attributes,
            self.analyzer,
        )

    def with_flags(self, *flags: str) -> Effect:
        """This effect with more flags."""
        return dataclasses.replace(self, flags=self.flags | frozenset(flags))

    def with_attributes(self, **attributes: Any) -> Effect:
        """This effect with more attributes."""
        return dataclasses.replace(self, attributes={**self.attributes, **attributes})

    def to_json(self) -> dict[str, Any]:
        """The documented effect JSON form, as decisions carry it."""
        out: dict[str, Any] = {
            "verb": self.verb,
            "target": {"kind": self.target.kind, "id": self.target.id},
            "environment": self.environment,
            "scope": self.scope,
            "count": self.count,
            "reversible": self.reversible,
            "recovery": self.recovery,
            "flags": sorted(self.flags),
            "attributes": dict(self.attributes),
            "analyzer": self.analyzer,
        }
        if self.span is not None:
            out["span"] = {"field": self.span.field, "start": self.span.start, "end": self.span.end}
        return out

    def to_cel(self) -> dict[str, Any]:
        """The map CEL conditions see as an element of ``effects``.

        Attributes come first so that no attribute can stand in for a core field.
        """
        out: dict[str, Any] = dict(self.attributes)
        out.update(
            verb=self.verb,
            # CEL has no null-friendly comparisons: absent values become neutral ones.
            target={"kind": self.target.kind, "id": self.target.id or ""},
            environment=self.environment or "",
            scope=self.scope,
            count=self.count if self.count is not None else 0,
            reversible=self.reversible,
            recovery=self.recovery or "",
            flags=sorted(self.flags),
            attributes=dict(self.attributes),
            analyzer=self.analyzer,
        )
        return out

    def problems(self) -> list[str]:
        """What makes this effect malformed; analyzers' output is checked against it."""
        out = []
        if self.verb not in VERBS:
            out.append(f"verb {self.verb!r} is not one of {', '.join(VERBS)}")
        if not isinstance(self.target, Target) or not isinstance(self.target.kind, str):
            out.append(f"target {self.target!r} is not a Target with a string kind")
        if self.scope not in SCOPES:
            out.append(f"scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        if self.reversible not in REVERSIBILITY:
            out.append(f"reversible {self.reversible!r} is not one of yes, no, unknown")
        if not isinstance(self.flags, frozenset | set) or not all(
            isinstance(f, str) for f in self.flags
        ):
            out.append(f"flags {self.flags!r} is not a set of strings")
        if not isinstance(self.attributes, Mapping):
            out.append(f"attributes {self.attributes!r} is not a mapping")
        else:
            try:
                canonical_json(dict(self.attributes))
            except UsageError as exc:
                out.append(f"attributes are not JSON: {exc}")
        return out

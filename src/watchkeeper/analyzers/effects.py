"""The words an effect is made of, as types the type checker enforces, and the effect builder.

A rule selects effects by verb and target kind, and reads their flags: an analyzer that wrote
``"database"`` where the standing orders say ``db_table`` made an effect no rule can select,
which is a fail-open nobody sees. The built-in analyzers build every effect with
:func:`builder`, whose parameters are these ``Literal`` types, so ``mypy --strict`` refuses a
word outside the vocabulary (SPEC §6); the registry checks the same at run time for every
analyzer, built-in or not (:meth:`~watchkeeper.analyzers.registry.Registry.run`)::

    effect = builder("shell")
    effect("delete", "db_table", "shop", scope="all", reversible="no")   # fine
    effect("delete", "database", "shop")                                 # mypy: not a TargetKind
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Protocol, get_args

from watchkeeper.models import FLAGS, REVERSIBILITY, SCOPES, TARGET_KINDS, VERBS, Effect, Span

Verb = Literal[
    "read", "create", "update", "overwrite", "delete", "execute", "grant", "transfer", "send",
    "unknown",
]  # fmt: skip
TargetKind = Literal[
    "file", "directory", "git_ref", "db_table", "db_rows", "cloud_resource", "k8s_resource",
    "terraform_resource", "secret", "process", "host", "money", "message", "unknown",
]  # fmt: skip
Scope = Literal["one", "many", "all"]
Reversible = Literal["yes", "no", "unknown"]
Flag = Literal["obfuscated", "dynamic", "privileged", "egress", "credential_access", "guard_tamper"]

#: The vocabulary as the models spell it; a test keeps the two the same.
VOCABULARY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "verb": (get_args(Verb), VERBS),
    "target kind": (get_args(TargetKind), TARGET_KINDS),
    "scope": (get_args(Scope), SCOPES),
    "reversible": (get_args(Reversible), REVERSIBILITY),
    "flag": (get_args(Flag), FLAGS),
}


class Build(Protocol):
    """What :func:`builder` returns: ``effect(verb, kind, id, scope=…, flags=…, **attributes)``."""

    def __call__(
        self,
        verb: Verb,
        kind: TargetKind,
        ident: str | None = None,
        /,
        *,
        scope: Scope = "one",
        reversible: Reversible = "unknown",
        recovery: str | None = None,
        flags: Iterable[Flag] = (),
        span: Span | None = None,
        **attributes: Any,
    ) -> Effect: ...


def builder(analyzer: str) -> Build:
    """The effect builder of ``analyzer``: every effect it makes names it."""

    def build(
        verb: Verb,
        kind: TargetKind,
        ident: str | None = None,
        /,
        *,
        scope: Scope = "one",
        reversible: Reversible = "unknown",
        recovery: str | None = None,
        flags: Iterable[Flag] = (),
        span: Span | None = None,
        **attributes: Any,
    ) -> Effect:
        return Effect.of(
            analyzer,
            verb,
            kind,
            ident,
            scope=scope,
            reversible=reversible,
            recovery=recovery,
            flags=frozenset(flags),
            span=span,
            **attributes,
        )

    return build


def with_flags(effect: Effect, *flags: Flag) -> Effect:
    """``effect`` with more flags, each one of the vocabulary."""
    return effect.with_flags(*flags)


def outside(effect: Effect, kinds: Iterable[str] = ()) -> list[str]:
    """What of ``effect`` is outside the vocabulary: a target kind that is neither one of
    :data:`TargetKind` nor one of ``kinds`` (those an analyzer declares, as a declared tool's
    analyzer does for the kind its declaration names), and flags no rule can read."""
    out = []
    if effect.target.kind not in TARGET_KINDS and effect.target.kind not in kinds:
        out.append(f"target kind {effect.target.kind!r} is not one of {', '.join(TARGET_KINDS)}")
    strange = sorted(f for f in effect.flags if f not in FLAGS)
    if strange:
        out.append(f"flags {', '.join(map(repr, strange))} are not among {', '.join(FLAGS)}")
    return out

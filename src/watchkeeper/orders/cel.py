"""CEL conditions: compiled once at load, evaluated many per call in one program.

Conditions see five variables (SPEC §5): ``action``, ``input``, ``effects``, ``agent`` and ``env``.
The engine is Google's cel-cpp through ``cel-expr-python``. Marshalling input, not evaluating it,
dominates the cost, so one decision evaluates every candidate rule's condition in **one** program,
``[c1, c2, …]``, compiled lazily per set of candidate rules and cached; a runtime error in that
list (which CEL propagates to the whole list) is retried condition by condition so that only the
failing rule fails closed.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_strings

VARIABLES = ("action", "input", "effects", "agent", "env")

_DYN_MAP = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
# The standard strings (lowerAscii, split, replace, …) and bindings (cel.bind) extensions, as
# cel-go offers them. Prefer them to `matches`: this engine compiles a regex on every call.
ENV = cel.NewEnv(
    variables={
        "action": _DYN_MAP,
        "input": _DYN_MAP,
        "effects": cel.Type.List(_DYN_MAP),
        "agent": _DYN_MAP,
        "env": cel.Type.STRING,
    },
    extensions=[ext_strings.ExtStrings(), ext_bindings.ExtBindings()],
)


def environment_free(text: str) -> bool:
    """Whether a condition reads only ``input`` and ``agent``, which no environment changes.

    A condition over ``effects`` is environment-free only for an action whose every effect
    carries its own environment (the gateway checks that per decision): otherwise each effect
    takes the environment it is judged in, and any view of the whole effect can tell.
    """
    return variables_used(text) <= {"input", "agent"}


def reads_effects_only(text: str) -> bool:
    """Whether a condition reads nothing but ``input``, ``agent`` and ``effects``."""
    return variables_used(text) <= {"input", "agent", "effects"}


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOCATION = re.compile(r"<input>:(\d+):(\d+): (.*)")
_CACHE_LIMIT = 4096
_UNCOMBINABLE = object()  # remembered, so a set that cannot be combined is not retried


@dataclass(frozen=True, slots=True)
class CompileError:
    """Why an expression did not compile; ``line``/``col`` are 1-based inside the expression."""

    line: int
    col: int
    message: str
    excerpt: str


_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")
_BOOLEAN_WORDS = {"yes": "true", "no": "false", "on": "true", "off": "false"}


def _hint(message: str, text: str, variables: Sequence[str] = VARIABLES) -> str:
    """A fix for the mistakes people make most, appended to the engine's message."""
    undeclared = _UNDECLARED.search(message)
    if undeclared:
        name = undeclared.group(1).split(".", 1)[0]  # the engine reports `inputs.amount`
        if name.lower() in _BOOLEAN_WORDS:
            return f"; write {_BOOLEAN_WORDS[name.lower()]}"
        close = difflib.get_close_matches(name, variables, n=1, cutoff=0.6)
        if close:
            return f"; did you mean {close[0]!r}?"
        return f"; conditions can use {', '.join(variables)}"
    if "Syntax error" in message and re.search(r"[^=!<>]=[^=]", text):
        return "; compare with == (a single = is not an operator)"
    return ""


def _parse_error(text: str, source: str, variables: Sequence[str] = VARIABLES) -> CompileError:
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else text
    match = _LOCATION.search(first)
    # The engine may report one mistake several times; the first report and its caret suffice.
    excerpt = "\n".join(
        line.replace(" [INVALID_ARGUMENT]", "") for line in lines[1:3] if line.startswith(" |")
    )
    message = (match.group(3) if match else first).removeprefix("INVALID_ARGUMENT: ")
    message = message.replace(" (in container '')", "")
    message += _hint(message, source, variables)
    if match is None:
        return CompileError(1, 1, message, excerpt)
    return CompileError(int(match.group(1)), int(match.group(2)), message, excerpt)


def compile_expression(
    text: str, *, boolean: bool, env: Any = None, variables: Sequence[str] = VARIABLES
) -> Any:
    """Compile ``text``; return the program, or a :class:`CompileError`.

    With ``boolean=True`` an expression whose type is known and is not ``bool`` is refused.
    ``env`` is the environment it is checked in (default: rules' :data:`ENV`), declaring
    ``variables``.
    """
    try:
        program = (env or ENV).compile(text)
    except RuntimeError as exc:
        return _parse_error(str(exc), text, variables)
    if boolean:
        kind = program.return_type()
        if kind not in (cel.Type.BOOL, cel.Type.DYN):
            return CompileError(
                1, 1, f"a condition must be true or false, but this one returns {kind}", ""
            )
    return program


def variables_used(text: str) -> frozenset[str]:
    """Which of the five variables an expression mentions (over-approximated, never under)."""
    return frozenset(w for w in _WORD.findall(text) if w in VARIABLES)


_MISSING_KEY = re.compile(r'Key not found in map\s*:\s*"?([^"]*)"?')
_OVERLOAD = re.compile(r"No matching overloads? found\s*:\s*(\S+)\((.*)\)")
_STATUS = re.compile(r"^[A-Z_]+: ")


def explain_error(text: str) -> str:
    """An engine error in words a policy author can act on."""
    text = _STATUS.sub("", text.strip())
    if "Iteration budget exceeded" in text:
        return (
            "the condition iterates over more than 10,000 items, the engine's limit for one "
            "evaluation; the action is too large to judge (split it, e.g. one plan per module)"
        )
    missing = _MISSING_KEY.search(text)
    if missing:
        key = missing.group(1)
        return (
            f"the key {key!r} is missing; test it first, e.g. has(input.{key}) && … "
            f"or '{key}' in input"
        )
    overload = _OVERLOAD.search(text)
    if overload:
        types = overload.group(2)
        hint = (
            "; numbers of different kinds do not mix: convert with double(…) or int(…)"
            if "double" in types and "int" in types
            else ""
        )
        return f"{overload.group(1)} cannot take ({types}){hint}"
    return text


def evaluate(program: Any, data: Mapping[str, Any] | Any) -> tuple[bool, Any]:
    """Run one program on ``data`` (a mapping, or an activation made once for several programs).

    Return ``(True, value)`` or ``(False, error message)``.
    """
    try:
        result = program.eval(data=data) if isinstance(data, dict) else program.eval(data)
        if result.type() == cel.Type.ERROR:
            return False, explain_error(str(result.value()))
        return True, result.plain_value()
    except Exception as exc:  # the engine raising is one more way to fail; never let it escape
        return False, explain_error(f"{type(exc).__name__}: {exc}")


class ConditionSet:
    """Evaluates the conditions of any subset of rules with one engine call.

    ``conditions`` is indexed by rule index; ``run(indexes, data)`` returns, per index, ``True``,
    ``False`` or an error string.
    """

    def __init__(
        self, conditions: Sequence[str | None], programs: Sequence[Any], env: Any = None
    ) -> None:
        self._conditions = conditions
        self._programs = programs
        #: The environment the conditions were compiled in (default: rules' :data:`ENV`).
        self._env = env or ENV
        self._combined: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()

    def program(self, index: int) -> Any:
        """The compiled condition of rule ``index`` (``None`` for a rule without one)."""
        return self._programs[index]

    def _program_for(self, indexes: tuple[int, ...]) -> Any:
        program = self._combined.get(indexes)
        if program is None:
            # The newline ends a trailing `// comment` inside a condition.
            text = "[" + ", ".join(f"({self._conditions[i]}\n)" for i in indexes) + "]"
            try:
                program = self._env.compile(text)
            except RuntimeError:  # e.g. nesting past the engine's limit once combined
                program = _UNCOMBINABLE
            with self._lock:
                if len(self._combined) >= _CACHE_LIMIT:
                    self._combined.clear()
                self._combined[indexes] = program
        return program

    def run(self, indexes: tuple[int, ...], data: Mapping[str, Any]) -> list[bool | str]:
        """Evaluate the conditions of rules ``indexes`` against ``data`` in one engine call."""
        if len(indexes) == 1:
            return [self._one(indexes[0], data)]
        program = self._program_for(indexes)
        if program is not _UNCOMBINABLE:
            ok, value = evaluate(program, data)
            if ok and isinstance(value, list) and all(isinstance(v, bool) for v in value):
                return list(value)
        # Each rule alone (one rule's error, or the engine's 10,000-iteration budget spent by
        # all rules together over a long effects list). Converting the data is most of an
        # evaluation's cost: one activation, converted once, serves them all.
        activation = self._env.Activation(dict(data))
        return [self._one(i, activation) for i in indexes]

    def _one(self, index: int, data: Mapping[str, Any] | Any) -> bool | str:
        ok, value = evaluate(self._programs[index], data)
        if not ok:
            return str(value)
        if not isinstance(value, bool):
            return f"condition returned {value!r}, not true or false"
        return value

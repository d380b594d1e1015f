"""YAML read into nodes that remember where they came from.

PyYAML's composer gives every node a start mark; we keep it so that any error found later, in the
schema, in a cross-reference or in a CEL condition, points at ``file:line:col``. Two YAML 1.1
surprises are removed: timestamps stay strings, and a duplicated key is an error instead of
silently keeping the last value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from watchkeeper.errors import Issue


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: dates in orders are plain strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    file: str
    line: int
    col: int

    def issue(self, message: str) -> Issue:
        return Issue(self.file, self.line, self.col, message)

    def shifted(self, cols: int) -> Mark:
        return Mark(self.file, self.line, self.col + cols)


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML node. ``value`` is a Python scalar, a list of nodes, or a list of key/value pairs."""

    kind: str  # "scalar" | "seq" | "map"
    value: Any
    mark: Mark
    tag: str = ""
    text: str = ""  # the scalar as written, before YAML resolved it to a bool or a number
    style: str | None = None

    def pairs(self) -> list[tuple[Node, Node]]:
        return self.value if self.kind == "map" else []

    def items(self) -> list[Node]:
        return self.value if self.kind == "seq" else []

    def plain(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars)."""
        if self.kind == "scalar":
            return self.value
        if self.kind == "seq":
            return [n.plain() for n in self.items()]
        return {str(k.value): v.plain() for k, v in self.pairs()}

    def describe(self) -> str:
        """How the node reads in an error message."""
        if self.kind == "map":
            return "a mapping"
        if self.kind == "seq":
            return "a list"
        if self.value is None:
            return "null"
        return repr(self.text) if self.tag.endswith(":str") else self.text


def _mark(file: str, m: yaml.Mark) -> Mark:
    return Mark(file, m.line + 1, m.column + 1)


def _convert(file: str, node: yaml.Node, loader: _Loader, issues: list[Issue]) -> Node:
    mark = _mark(file, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        try:
            value = loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            issues.append(mark.issue(f"cannot read scalar {node.value!r}: {exc}"))
            value = node.value
        return Node("scalar", value, mark, node.tag, str(node.value), node.style)
    if isinstance(node, yaml.SequenceNode):
        return Node("seq", [_convert(file, n, loader, issues) for n in node.value], mark, node.tag)
    pairs: list[tuple[Node, Node]] = []
    seen: dict[Any, Mark] = {}
    for knode, vnode in node.value:
        key = _convert(file, knode, loader, issues)
        if key.kind != "scalar":
            issues.append(key.mark.issue("mapping keys must be plain strings"))
            continue
        hashable = key.text
        if hashable in seen:
            first = seen[hashable]
            issues.append(
                key.mark.issue(
                    f"duplicate key {key.text!r} (first at line {first.line}); "
                    "remove one: YAML would silently keep only the last"
                )
            )
            continue
        seen[hashable] = key.mark
        pairs.append((key, _convert(file, vnode, loader, issues)))
    return Node("map", pairs, mark, node.tag)


def read_documents(text: str, file: str, issues: list[Issue]) -> Iterator[Node]:
    """Yield every YAML document in ``text`` as a :class:`Node`; problems go to ``issues``."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            raw = loader.get_node()
            if raw is not None:
                yield _convert(file, raw, loader, issues)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(file, mark) if mark is not None else Mark(file, 1, 1)
        issues.append(where.issue(f"YAML syntax error: {exc.problem or exc.context}"))
    except yaml.YAMLError as exc:
        issues.append(Mark(file, 1, 1).issue(f"YAML error: {exc}"))
    finally:
        loader.dispose()

"""YAML read into nodes that remember where they came from.

PyYAML's composer gives every node a start mark; we keep it so that any error found later, in the
schema, in a cross-reference or in a CEL condition, points at ``file:line:col``. Two YAML 1.1
surprises are removed: timestamps stay strings, and a duplicated key is an error instead of
silently keeping the last value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from watchkeeper.errors import Issue


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: dates in orders are plain strings."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same with libyaml's parser, when PyYAML has it: seven times faster, and loading the
    built-in orders is most of a door's start-up. Orders it cannot read are read again by
    :class:`_Loader`, whose messages name the problem the way the hints expect."""


# YAML 1.1 reads 22:22 as the base-60 number 1342 and 2024-01-01 as a date; here both stay
# strings. Integers and floats keep their ordinary forms.
_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    file: str
    line: int
    col: int

    def issue(self, message: str) -> Issue:
        """An :class:`Issue` at this position."""
        return Issue(self.file, self.line, self.col, message)

    def shifted(self, cols: int) -> Mark:
        """This position, ``cols`` columns to the right."""
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
    raw: str = ""  # the scalar's source, quotes, escapes and line breaks included

    def position_of(self, index: int) -> Mark:
        """Where character ``index`` of the scalar's text was written in the file.

        Quotes, escapes, folding and indentation only ever remove source characters, so a
        greedy alignment of the text against its source finds each character's origin.
        """
        if self.raw and self.text and index >= len(self.text):
            # Past the end ("unexpected end of input"): just after the last character.
            return self.position_of(len(self.text) - 1).shifted(index - len(self.text) + 1)
        if not self.raw or not 0 <= index < len(self.text):
            return self.mark
        at = 0
        for i in range(index + 1):
            found = self.raw.find(self.text[i], at)
            if found < 0:
                return self.mark
            at = found + 1
        offset = at - 1
        before = self.raw[:offset]
        newlines = before.count("\n")
        if not newlines:
            return self.mark.shifted(offset)
        return Mark(self.mark.file, self.mark.line + newlines, offset - before.rfind("\n"))

    def pairs(self) -> list[tuple[Node, Node]]:
        """Key/value pairs of a mapping node (empty for others)."""
        return self.value if self.kind == "map" else []

    def items(self) -> list[Node]:
        """Items of a sequence node (empty for others)."""
        return self.value if self.kind == "seq" else []

    def plain(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars)."""
        if self.kind == "scalar":
            return self.value
        if self.kind == "seq":
            return [n.plain() for n in self.items()]
        return {k.text: v.plain() for k, v in self.pairs()}

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


_YAML_HINTS = {
    "mapping values are not allowed here": "check this line's indentation, or quote a value "
    "that contains ': '",
    "expected <block end>": "check the indentation: this line does not line up with the one "
    "above it",
    "found character '\\t'": "YAML is indented with spaces, not tabs",
    "could not find expected ':'": "a key needs ': ' after it, or a quoted value is not closed",
}

#: Aliases can make a small file expand to a huge tree ("billion laughs"); orders never need this.
MAX_NODES = 200_000


class _TooBig(Exception):
    pass


class _Converter:
    """PyYAML nodes → :class:`Node`, refusing recursive aliases and runaway expansion."""

    def __init__(
        self, file: str, loader: yaml.SafeLoader, issues: list[Issue], text: str = ""
    ) -> None:
        self.text = text
        self.file = file
        self.loader = loader
        self.issues = issues
        self.count = 0
        self.open: set[int] = set()  # nodes being converted: seeing one again is a cycle

    def convert(self, node: yaml.Node) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig
        mark = _mark(self.file, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, mark)
        if id(node) in self.open:
            self.issues.append(mark.issue("a YAML alias refers to itself; orders cannot be cyclic"))
            return Node("scalar", None, mark, "tag:yaml.org,2002:null", "null")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return Node("seq", [self.convert(n) for n in node.value], mark, node.tag)
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, mark)
            self.issues.append(mark.issue(f"unsupported YAML node {type(node).__name__}"))
            return Node("map", [], mark, node.tag)
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, mark: Mark) -> Node:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self.issues.append(mark.issue(f"cannot read scalar {node.value!r}: {exc.problem}"))
            value = node.value
        except Exception as exc:  # a tag like !!int on text that is not one
            self.issues.append(
                mark.issue(f"cannot read scalar {node.value!r} as {node.tag}: {exc}")
            )
            value = node.value
        start, end = node.start_mark, node.end_mark
        if start.buffer is not None:
            raw = start.buffer[start.pointer : end.pointer]
        else:  # libyaml's marks carry no buffer: the text between them is read from the document
            raw = self.text[start.index : end.index]
        style = node.style or None  # libyaml says "" for a plain scalar, PyYAML None
        return Node("scalar", value, mark, node.tag, str(node.value), style, raw)

    def _mapping(self, node: yaml.MappingNode, mark: Mark) -> Node:
        explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        try:
            self.loader.flatten_mapping(node)  # resolve `<<: *anchor` as YAML defines it
        except yaml.MarkedYAMLError as exc:
            self.issues.append(mark.issue(f"cannot merge: {exc.problem}"))
            return Node("map", [], mark, node.tag)
        merged = len(node.value) - explicit  # flatten puts merged pairs first
        pairs: dict[str, tuple[Node, Node]] = {}
        from_merge: set[str] = set()
        for index, (knode, vnode) in enumerate(node.value):
            key = self.convert(knode)
            if key.kind != "scalar":
                self.issues.append(key.mark.issue("mapping keys must be plain strings"))
                continue
            name = key.text
            if name in pairs and name not in from_merge:
                first = pairs[name][0].mark
                self.issues.append(
                    key.mark.issue(
                        f"duplicate key {name!r} (first at line {first.line}); "
                        "remove one: YAML would silently keep only the last"
                    )
                )
                continue
            # A key written here overrides one merged in; among merged keys the last wins.
            pairs[name] = (key, self.convert(vnode))
            if index < merged:
                from_merge.add(name)
            else:
                from_merge.discard(name)
        return Node("map", list(pairs.values()), mark, node.tag)


def _read_quickly(text: str, file: str) -> tuple[list[Node], list[Issue]] | None:
    """Every document and the problems in them, read by libyaml; ``None`` when YAML itself
    refuses the text, which :func:`read_documents` then reads again for its message."""
    fast = _FastLoader(text)
    found: list[Node] = []
    seen: list[Issue] = []
    try:
        while fast.check_node():
            raw = fast.get_node()
            if raw is not None:
                found.append(_Converter(file, fast, seen, text).convert(raw))
    except (yaml.YAMLError, _TooBig, RecursionError):
        return None
    finally:
        fast.dispose()
    return found, seen


def read_documents(text: str, file: str, issues: list[Issue]) -> Iterator[Node]:
    """Yield every YAML document in ``text`` as a :class:`Node`; problems go to ``issues``."""
    quick = _read_quickly(text, file) if _FastLoader is not _Loader else None
    if quick is not None:
        found, seen = quick
        issues.extend(seen)
        yield from found
        return
    loader = _Loader(text)
    try:
        while loader.check_node():
            raw = loader.get_node()
            if raw is not None:
                yield _Converter(file, loader, issues, text).convert(raw)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(file, mark) if mark is not None else Mark(file, 1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        for known, hint in _YAML_HINTS.items():
            if known in message:
                message += f" ({hint})"
                break
        if exc.context and exc.context_mark is not None and exc.problem_mark is not None:
            opened = _mark(file, exc.context_mark)
            message += f" ({exc.context} at line {opened.line}, column {opened.col})"
        issues.append(where.issue(message))
    except yaml.YAMLError as exc:
        issues.append(Mark(file, 1, 1).issue(f"YAML error: {exc}"))
    except _TooBig:
        issues.append(
            Mark(file, 1, 1).issue(
                f"the YAML expands to more than {MAX_NODES} values (aliases of aliases?); "
                "write the orders out plainly"
            )
        )
    except RecursionError:
        issues.append(Mark(file, 1, 1).issue("the YAML nests too deeply to be standing orders"))
    finally:
        loader.dispose()

"""One validated YAML document, and compiling what it holds with positions kept.

:class:`Compiler` compiles CEL found in documents and reports errors at the exact
``file:line:col`` inside the YAML scalar; :func:`named_section` and :func:`first_use` merge
name-keyed sections across documents and files, reporting every duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.orders.cel import VARIABLES, CompileError, compile_expression
from watchkeeper.orders.source import Mark, Node
from watchkeeper.orders.validate import Path, Validation


@dataclass
class Document:
    """One validated YAML document and where its values were written."""

    data: dict[str, Any]
    v: Validation
    node: Node


def _cel_issue(err: CompileError, what: str) -> str:
    return f"{what} does not compile: {err.message}" + (f"\n{err.excerpt}" if err.excerpt else "")


def _expr_mark(node: Node | None, text: str, err: CompileError) -> Mark | None:
    """Where in the file the expression's error is: inside the YAML scalar when possible."""
    if node is None:
        return None
    lines = text.split("\n")
    index = sum(len(line) + 1 for line in lines[: err.line - 1]) + err.col - 1
    return node.position_of(index)


class Compiler:
    """Compiles CEL found in documents, reporting errors inside the YAML that holds them."""

    def __init__(self, docs: Sequence[Document]):
        self.docs = docs

    def compile_cel(
        self,
        doc_i: int,
        path: Path,
        text: str,
        what: str,
        *,
        boolean: bool,
        env: Any = None,
        variables: Sequence[str] = VARIABLES,
    ) -> Any | None:
        """The compiled program, or ``None`` after recording the error at its position.
        ``env`` and ``variables``: see :func:`~watchkeeper.orders.cel.compile_expression`."""
        doc = self.docs[doc_i]
        result = compile_expression(text, boolean=boolean, env=env, variables=variables)
        if isinstance(result, CompileError):
            mark = _expr_mark(doc.v.nodes.get(path), text, result) or doc.v.mark(path)
            doc.v.issues.append(mark.issue(_cel_issue(result, what)))
            return None
        return result


def named_section(docs: Sequence[Document], section: str) -> list[tuple[int, str, Any]]:
    """(document index, name, value) for a named section across documents; flags duplicates."""
    seen: dict[str, Mark] = {}
    out = []
    for i, doc in enumerate(docs):
        for name, value in (doc.data.get(section) or {}).items():
            mark = doc.v.mark((section, name), key=True)
            if first_use(
                doc, seen, name, mark, section[:-1], "give it another name or merge the two"
            ):
                out.append((i, name, value))
    return out


def first_use(
    doc: Document, seen: dict[str, Mark], name: str, mark: Mark, what: str, fix: str
) -> bool:
    """Record ``name`` at ``mark``; if it was seen before, report the duplicate and say so."""
    first = seen.get(name)
    if first is None:
        seen[name] = mark
        return True
    where = f"{first.file}:{first.line}:{first.col}"
    doc.v.issues.append(mark.issue(f"duplicate {what} name {name!r} (first at {where}); {fix}"))
    return False

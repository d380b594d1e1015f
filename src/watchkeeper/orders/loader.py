"""Load standing orders from a file, a directory, a string or the built-in defaults.

A file with any error is refused and every error is reported at once::

    orders = load("watchkeeper.yaml")          # or a directory of *.yaml files
    orders = load_text(text, "inline.yaml")
    orders = builtin()                         # the defaults `watchkeeper init` writes

``*_test.yaml`` files are policy tests, not orders, and are skipped here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from watchkeeper.errors import Issue, OrdersError
from watchkeeper.orders.compile import compile_orders
from watchkeeper.orders.document import Document
from watchkeeper.orders.model import StandingOrders
from watchkeeper.orders.schema import ORDERS
from watchkeeper.orders.source import Mark, read_documents
from watchkeeper.orders.validate import Validation

BUILTIN_NAME = "default.yaml"
SUFFIXES = (".yaml", ".yml")


def is_test_file(path: Path) -> bool:
    """``*_test.yaml``: policy tests, not orders."""
    return path.suffix in SUFFIXES and path.stem.endswith("_test")


def order_files(path: Path) -> list[Path]:
    """The orders files ``path`` stands for, sorted; raise ``OrdersError`` if there are none."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix in SUFFIXES
            and not is_test_file(p)
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise OrdersError(
                [Issue(str(path), 1, 1, "no standing orders here: expected *.yaml files")]
            )
        return files
    if not path.exists():
        raise OrdersError(
            [
                Issue(
                    str(path),
                    1,
                    1,
                    "no such file or directory; run `watchkeeper init` to write one",
                )
            ]
        )
    return [path]


def parse(sources: list[tuple[str, str]]) -> StandingOrders:
    """Validate and compile (name, text) pairs as one set of standing orders."""
    docs: list[Document] = []
    issues: list[Issue] = []
    for name, text in sources:
        for node in read_documents(text, name, issues):
            if node.kind == "scalar" and node.value is None:
                continue  # an empty document
            v = Validation()
            data = v.check(node, ORDERS)
            if isinstance(data, dict):
                docs.append(Document(data, v, node))
            else:
                issues.extend(v.issues)
    try:
        compiled = compile_orders(docs, [name for name, _ in sources])
    except Exception as exc:  # a bug here must still refuse the orders, never half-load them
        first = sources[0][0] if sources else "<orders>"
        issues.append(
            Mark(first, 1, 1).issue(f"internal error while loading: {type(exc).__name__}: {exc}")
        )
        compiled = None
    issues.extend(i for doc in docs for i in doc.v.issues)
    if issues or compiled is None:
        raise OrdersError(issues or [Mark(sources[0][0], 1, 1).issue("standing orders refused")])
    return compiled


def load(path: str | Path) -> StandingOrders:
    """Load a file or every ``*.yaml`` under a directory as one set of standing orders."""
    sources = []
    for file in order_files(Path(path)):
        try:
            sources.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise OrdersError([Issue(str(file), 1, 1, f"cannot read: {exc}")]) from exc
    return parse(sources)


def load_text(text: str, name: str = "<orders>") -> StandingOrders:
    """Standing orders from YAML text; ``name`` is what error positions call the file."""
    return parse([(name, text)])


#: The profiles ``watchkeeper init --profile`` writes, by the file each one is: the workstation
#: profile is the built-in default.
PROFILES = {"workstation": BUILTIN_NAME, "infra": "infra.yaml", "support": "support.yaml"}


def builtin_text(name: str = BUILTIN_NAME) -> str:
    """The text of a built-in file (``default.yaml`` or ``default_test.yaml``)."""
    return resources.files("watchkeeper.orders").joinpath("builtin", name).read_text("utf-8")


def builtin() -> StandingOrders:
    """The built-in default standing orders."""
    return parse([(f"<builtin>/{BUILTIN_NAME}", builtin_text())])

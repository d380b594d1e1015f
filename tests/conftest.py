"""Shared fixtures: standing orders written to real files, loaded through the real loader."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders

# CI runs the same examples every time, so a red build is reproducible and never a coin toss;
# elsewhere Hypothesis explores new ones on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: The specification and peer corpus the project is built against sit beside the repository.
SHARED = ROOT.parent / "shared"


def need_shared(path: Path) -> None:
    """Skip outside CI when ``path`` is missing; in CI (``CI=true``) that is a failure."""
    if path.exists():
        return
    message = f"{path} is not beside the repository"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run with ../shared checked out")
    pytest.skip(f"{message}; this check runs where it is (CI always)")


@pytest.fixture
def write_orders(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "watchkeeper.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def orders_from(write_orders: Callable[..., Path]) -> Callable[[str], StandingOrders]:
    """Load standing orders from YAML text through a real file."""

    def build(text: str) -> StandingOrders:
        return load(write_orders(text))

    return build

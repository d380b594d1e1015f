"""The documentation stays true: generated reference, README commands, linked pages."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest
import typer.main

from tests.conftest import ROOT
from watchkeeper.analyzers.tools import reference_markdown as tools_reference
from watchkeeper.cli import app
from watchkeeper.config import reference_markdown as settings_reference
from watchkeeper.orders.schema import reference_markdown

START = "<!-- reference:start"
END = "<!-- reference:end -->"


@pytest.mark.parametrize(
    ("name", "generate"),
    [
        ("standing-orders.md", reference_markdown),
        ("settings.md", settings_reference),
        ("tools.md", tools_reference),
    ],
)
def test_generated_reference_is_current(name: str, generate: Callable[[], str]) -> None:
    page = ROOT / "docs" / name
    text = page.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    marker, _ = rest.split("\n", 1)
    _, tail = rest.split(END, 1)
    wanted = f"{head}{START}{marker}\n{generate()}{END}{tail}"
    if os.environ.get("WATCHKEEPER_UPDATE_DOCS") == "1":
        page.write_text(wanted, encoding="utf-8")
        text = page.read_text(encoding="utf-8")
    assert text == wanted, (
        f"docs/{name} is out of date with the code; "
        "rerun with WATCHKEEPER_UPDATE_DOCS=1 to regenerate it"
    )


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_group(app)
    missing = [name for name in group.commands if f"watchkeeper {name}" not in readme]
    assert not missing, f"README does not show: {missing}"


@pytest.mark.parametrize(
    "page",
    [
        "README.md",
        "docs/standing-orders.md",
        "docs/decisions.md",
        "docs/settings.md",
        "docs/analyzers.md",
        "docs/server.md",
        "docs/audit.md",
        "docs/architecture.md",
        "docs/tools.md",
        "docs/claude-code.md",
        "docs/shell.md",
        "docs/ci.md",
    ],
)
def test_relative_links_resolve(page: str) -> None:
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    broken = [link for link in links if not (path.parent / link).exists()]
    assert not broken, f"{page} links to missing files: {broken}"


def test_the_architecture_page_names_modules_that_exist() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:[a-z_]+/)*[a-z_]+\.py|[a-z_]+/)(?=[\s`|])", page))
    package = ROOT / "src" / "watchkeeper"
    missing = sorted(n for n in named if not (package / n).exists())
    assert len(named) > 20  # the picture and the table, not a page that lost them
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_readme_first_screen_gives_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_readme_python_example_runs_as_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == [
        "refunded 40 on A-1042",
        "outside the charter of agent 'support-bot': refund.amount 1450 is over its charter "
        "limit of 100",
    ]


def test_decisions_page_states_the_limits_the_settings_apply() -> None:
    from watchkeeper.config import SETTING

    page = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    mib = SETTING["max_input_bytes"].default / 2**20
    assert f"`max_input_bytes` of\n   canonical JSON ({mib:g} MiB by default)" in page
    assert f"`max_effects` effects\n   ({SETTING['max_effects'].default:,})" in page
    budget = SETTING["analyzer_budget_ms"].default
    assert f"`analyzer_budget_ms` ({budget:g} ms)" in page

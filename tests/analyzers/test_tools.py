"""One record per tool: the dispatcher reads its facts, and a name is described once."""

from __future__ import annotations

import pytest

from watchkeeper.analyzers import commands, tools
from watchkeeper.analyzers.shell import analyze


def test_a_tool_described_twice_is_refused_at_import() -> None:
    one = tools.Tool("files", help=True)
    with pytest.raises(ValueError, match="tools described twice: cp"):
        tools._tools({"cp": one, "rm": one}, {"cp": one})


def test_every_record_is_a_known_command() -> None:
    assert set(tools.TOOLS) <= commands.KNOWN_COMMANDS


@pytest.mark.parametrize(
    "name", sorted(n for n, t in tools.TOOLS.items() if t.subcommands and t.handler)
)
def test_a_subcommand_computed_at_run_time_is_dynamic(name: str) -> None:
    found = analyze(f'{name} "$X" thing')
    assert any("dynamic" in e.flags for e in found), found


@pytest.mark.parametrize(("name", "tool"), sorted(tools.TOOLS.items()))
def test_each_version_flag_alone_is_a_read_and_with_more_is_not_only_that(
    name: str, tool: tools.Tool
) -> None:
    for flag in tool.versions:
        assert [(e.verb, e.target.kind) for e in analyze(f"{name} {flag}")] == [("read", "process")]
        assert [e.verb for e in analyze(f"{name} {flag} -c 'rm -rf /srv'")] != ["read"]

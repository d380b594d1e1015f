"""The MCP gateway in front of real MCP servers (``mcp-server-git`` on a temporary repository,
``mcp-server-time``, and servers built with the SDK over stdio and streamable HTTP), driven by
the SDK's client in both protocol eras, deciding in its own process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.doors.mcp.harness import (
    GIT,
    RAW,
    TIME,
    TOOLS,
    Lines,
    environment,
    gateway,
    hook_answer,
    http_server,
    recorded,
    text_of,
)

pytestmark = pytest.mark.socket

ORDERS = """
agents:
  coder:
    charter: {tools: [git_status, git_log, git_diff*, git_reset, shell, wipe, peek, echo,
                      garble, fail, die, settings]}
tools:
  git_status: {verb: read, target: git_ref}
  git_log: {verb: read, target: git_ref}
  # Said to read by whoever wrote these orders; the server says otherwise (destructiveHint).
  git_add: {verb: read, target: git_ref}
  peek: {verb: delete, target: file, id: input.path, reversible: "no"}
  echo: {verb: read, target: message}
  garble: {verb: read, target: message}
  fail: {verb: read, target: message}
  die: {verb: read, target: message}
  settings: {verb: read, target: message}
  shell_like: {verb: read, target: message}
environments:
  workstation: {unplaced: true, default: ask}
rules:
  - name: reads-are-free
    match: {verb: read}
    when: "effects.all(e, e.verb == 'read')"
    decision: allow
  - name: no-resets
    match: {tool: git_reset}
    decision: deny
    reason: A reset throws away staged work.
    instructions: Commit or stash first.
  - name: time-is-free
    match: {tool: [get_current_time, convert_time]}
    decision: allow
  - name: shell-rules
    match: {tool: shell}
    when: "action.input.command.startsWith('ls')"
    decision: allow
"""

#: The two eras of the protocol: the handshake (initialize), and 2026-07-28 (stateless).
MODES = ["legacy", "2026-07-28"]


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(ORDERS, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit and one staged change (which a reset would lose)."""
    path = tmp_path / "repo"
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (path / "a.txt").write_text("one\n", encoding="utf-8")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    (path / "a.txt").write_text("two\n", encoding="utf-8")
    subprocess.run([*git, "add", "a.txt"], check=True)
    return path


def staged(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "diff", "--cached", "--name-only"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.parametrize("mode", MODES)
def test_git_status_passes_and_a_reset_is_refused_with_the_answer(
    mode: str, orders: Path, repo: Path
) -> None:
    target = [GIT, "--repository", str(repo)]

    async def go() -> None:
        async with gateway(["--orders", str(orders)], target, environment(), mode) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert {"git_status", "git_reset"} <= listed
            status = await client.call_tool("git_status", {"repo_path": str(repo)})
            assert not status.is_error
            assert "a.txt" in text_of(status)
            reset = await client.call_tool("git_reset", {"repo_path": str(repo)})
            assert reset.is_error
            said.append(text_of(reset))

    said: list[str] = []
    anyio.run(go)
    assert staged(repo) == "a.txt"  # the reset never reached the server
    # The same declarations, and the same answer, for Claude Code's own call of the tool.
    env = environment(WATCHKEEPER_ORDERS=str(orders))
    assert hook_answer("mcp__git__git_reset", {"repo_path": str(repo)}, env) == ("deny", said[0])
    assert said[0].startswith("Refused by watchkeeper (no-resets): A reset throws away staged")
    anyio.run(go)
    assert staged(repo) == "a.txt"  # the reset never reached the server


@pytest.mark.parametrize("mode", MODES)
def test_a_servers_destructive_hint_makes_a_decision_stricter(
    mode: str, orders: Path, repo: Path
) -> None:
    """The orders call git_add a read; mcp-server-git declares it not read-only, which says
    nothing, and git_reset destructive. The hint on wipe (built with the SDK) turns an allow
    into a question; peek's read-only hint does not loosen the orders' delete."""
    tmp = repo.parent
    record = tmp / "calls.jsonl"
    orders.write_text(ORDERS.replace("  peek:", "  wipe: {verb: read, target: message}\n  peek:"))

    async def go() -> None:
        env = environment(RECORD=str(record))
        async with gateway(["--orders", str(orders)], TOOLS, env, mode) as client:
            wipe = await client.call_tool("wipe", {"path": "/srv"})
            assert wipe.is_error
            assert "declares it destructive" not in text_of(wipe)  # the reason is the rule's
            assert "needs a person's approval" in text_of(wipe)
            peek = await client.call_tool("peek", {"path": "/etc/hosts"})
            assert peek.is_error  # read-only by the server's word; a delete by the orders'
        async with gateway(["--orders", str(orders)], [GIT, "--repository", str(repo)],
                           environment(), mode) as client:  # fmt: skip
            added = await client.call_tool("git_add", {"repo_path": str(repo), "files": ["a.txt"]})
            assert not added.is_error, text_of(added)  # no destructive hint: the orders decide

    anyio.run(go)
    assert recorded(record) == []


def test_the_hint_travels_with_the_action_and_is_recorded(orders: Path, tmp_path: Path) -> None:
    """With --db, the decision and the server's annotations are in the audit log."""
    from watchkeeper.store.database import Store

    db = f"sqlite:///{tmp_path / 'wk.db'}"
    record = tmp_path / "calls.jsonl"

    async def go() -> None:
        env = environment(RECORD=str(record))
        async with gateway(["--orders", str(orders), "--db", db, "--server-name", "tools"],
                           TOOLS, env) as client:  # fmt: skip
            assert (await client.call_tool("wipe", {"path": "/srv"})).is_error

    anyio.run(go)
    store = Store.open(db)
    try:
        from watchkeeper.store.audit import AuditLog

        events = [json.loads(leaf.event) for leaf in AuditLog(store).leaves()]
    finally:
        store.close()
    (action,) = [e["action"] for e in events if "action" in e]
    assert action["tool"] == "wipe"
    assert action["input"] == {"path": "/srv", "server": "tools"}
    assert action["context"]["mcp"]["annotations"]["destructiveHint"] is True


@pytest.mark.parametrize("mode", MODES)
def test_time_server_passes_through(mode: str, orders: Path) -> None:
    async def go() -> None:
        async with gateway(["--orders", str(orders)], [TIME], environment(), mode) as client:
            now = await client.call_tool("get_current_time", {"timezone": "UTC"})
            assert not now.is_error
            assert json.loads(text_of(now))["timezone"] == "UTC"

    anyio.run(go)


def test_unchartered_tools_are_hidden_and_refused(orders: Path, repo: Path) -> None:
    target = [GIT, "--repository", str(repo)]
    options = ["--orders", str(orders), "--agent", "coder", "--hide-unchartered"]

    async def go() -> None:
        async with gateway(options, target, environment()) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert "git_add" not in listed
            assert "git_commit" not in listed
            assert {"git_status", "git_log", "git_diff", "git_reset"} <= listed
            added = await client.call_tool("git_add", {"repo_path": str(repo), "files": ["b"]})
            assert added.is_error
            assert "not offered to this agent" in text_of(added)

    anyio.run(go)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stateless", [True, False], ids=["stateless", "sessions"])
def test_a_server_over_streamable_http(
    mode: str, stateless: bool, orders: Path, tmp_path: Path
) -> None:
    """A server reached by URL, in the 2026-07-28 revision (stateless, one POST per request)
    and the earlier one with sessions; the client reaches the gateway in either era."""
    record = tmp_path / "calls.jsonl"
    with http_server(record, stateless) as url:

        async def go() -> None:
            async with gateway(["--orders", str(orders)], [url], environment(), mode) as client:
                assert "shell" in {t.name for t in (await client.list_tools()).tools}
                ran = await client.call_tool("shell", {"command": "ls /srv"})
                assert (ran.is_error, text_of(ran)) == (False, "ran: ls /srv")
                held = await client.call_tool("shell", {"command": "rm -rf /srv"})
                assert held.is_error

        anyio.run(go)
    assert [c["command"] for c in recorded(record)] == ["ls /srv"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", [True, False], ids=["approved", "declined"])
def test_an_ask_is_put_to_the_person_at_the_client(
    mode: str, answer: bool, orders: Path, tmp_path: Path
) -> None:
    """Where anyone may approve and the client can elicit, its person is asked."""
    record = tmp_path / "calls.jsonl"
    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": answer})

    async def go() -> None:
        env = environment(RECORD=str(record))
        options = ["--orders", str(orders), "--server-name", "tools"]
        async with gateway(options, TOOLS, env, mode, elicitation_callback=elicit) as client:
            done = await client.call_tool("shell", {"command": "rm -rf /srv/cache"})
            assert done.is_error is not answer, text_of(done)
            if not answer:
                assert text_of(done).startswith("Not allowed: the person at the client declined")

    anyio.run(go)
    (question,) = asked
    assert "Allow this call of 'shell' on 'tools', once?" in question
    # What would run, every argument, the tool's defaults included.
    assert question.endswith('Arguments: "command": "rm -rf /srv/cache"; "cwd": ""')
    assert [c["command"] for c in recorded(record)] == (["rm -rf /srv/cache"] if answer else [])


def test_garbage_from_the_client_reaches_nothing(orders: Path, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    lines = Lines(["--orders", str(orders)], RAW, environment(RECORD=str(record)))
    try:
        lines.start()
        lines.send("this is not JSON")
        lines.send(
            json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": 7,
                        "method": "tools/call",
                        "params": {"name": "echo", "arguments": {"text": "batch"}},
                    }
                ]
            )
        )
        lines.send(json.dumps({"id": 8, "method": "tools/call", "params": {"name": "echo"}}))
        for _ in range(3):  # each answered as JSON-RPC says: a parse error, for no id
            unreadable = lines.read()
            assert (unreadable["id"], unreadable["error"]["code"]) == (None, -32700)
        lines.request(9, "tools/call", {"name": 42, "arguments": {}})
        assert lines.read()["error"]["code"] == -32602
        lines.request(10, "tools/call", {"name": "echo", "arguments": "text"})
        assert lines.read()["error"]["code"] == -32602
        lines.request(11, "tools/call", {"name": "echo", "arguments": {"text": "fine"}})
        answer = lines.read()
        assert (answer["id"], answer["result"]["content"][0]["text"]) == (11, "fine")
    finally:
        lines.close()
    assert recorded(record) == [{"tool": "echo", "text": "fine"}]


def test_garbage_from_the_server_is_dropped(orders: Path, tmp_path: Path) -> None:
    """A line that is not JSON-RPC and an answer to a request nobody made never reach the
    client; the real answer does."""
    record = tmp_path / "calls.jsonl"
    lines = Lines(["--orders", str(orders)], RAW, environment(RECORD=str(record)))
    try:
        lines.start()
        lines.request(1, "tools/call", {"name": "garble", "arguments": {}})
        answer = lines.read()
        assert answer["id"] == 1
        assert answer["result"]["content"][0]["text"] == "garbled"
        lines.request(2, "tools/call", {"name": "echo", "arguments": {"text": "after"}})
        assert lines.read()["id"] == 2
    finally:
        errors = lines.stderr()
    assert "not MCP" in errors
    assert "answered a request nobody sent" in errors


@pytest.mark.parametrize("mode", MODES)
def test_a_server_that_dies_fails_every_call_closed(
    mode: str, orders: Path, tmp_path: Path
) -> None:
    record = tmp_path / "calls.jsonl"

    async def go() -> None:
        env = environment(RECORD=str(record))
        async with gateway(["--orders", str(orders)], TOOLS, env, mode) as client:
            from mcp.shared.exceptions import MCPError

            with pytest.raises(MCPError, match="stopped; whether the call ran is not known"):
                await client.call_tool("die", {})
            with pytest.raises(MCPError, match="stopped"):
                await client.call_tool("shell", {"command": "ls /srv"})

    anyio.run(go)
    assert [c["tool"] for c in recorded(record)] == ["die"]


def test_orders_with_errors_are_refused_at_start(tmp_path: Path) -> None:
    from tests.doors.mcp.harness import EXE

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    decision: perhaps\n", encoding="utf-8")
    done = subprocess.run([EXE, "mcp-proxy", "--orders", str(bad), "--", *RAW], text=True,
                          capture_output=True, env=environment(), timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2
    assert f"{bad}:3:" in done.stderr


def test_the_wrapped_server_is_given_none_of_watchkeepers_settings(
    orders: Path, tmp_path: Path
) -> None:
    """The agent's key and the database's address are the gateway's, not the server's."""
    env = environment(
        RECORD=str(tmp_path / "calls.jsonl"),
        WATCHKEEPER_TOKEN="wk_agent_secret",
        WATCHKEEPER_DB=f"sqlite:///{tmp_path / 'wk.db'}",
    )
    said: list[str] = []

    async def go() -> None:
        async with gateway(["--orders", str(orders)], TOOLS, env) as client:
            said.append(text_of(await client.call_tool("settings", {})))

    anyio.run(go)
    assert json.loads(said[0]) == []


STRICT = """
environments:
  workstation: {unplaced: true, default: allow}
tools:
  touch: {verb: read, target: file}
rules:
  - name: no-forced-purges
    match: {tool: purge}
    when: "action.input.force == true"
    decision: deny
  - name: no-recursive-purges
    match: {tool: purge}
    when: "action.input.recursive == true"
    decision: deny
  - name: no-secret-deploys
    match: {tool: deploy}
    when: "action.input.service == 'secrets'"
    decision: deny
  - name: nothing-irreversible
    when: "effects.exists(e, e.reversible == 'no')"
    decision: deny
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_call_is_decided_on_what_the_tool_will_take(mode: str, tmp_path: Path) -> None:
    """Arguments the tool's schema does not take exactly are refused, not coerced by the server
    after the decision; the tool's defaults are decided on (and sent); a dry run is not made
    for a call refused outright; a tool annotated without a word on harm is destructive."""
    orders = tmp_path / "strict.yaml"
    orders.write_text(STRICT, encoding="utf-8")
    record = tmp_path / "calls.jsonl"
    said: dict[str, str] = {}

    async def go() -> None:
        env = environment(RECORD=str(record))
        async with gateway(["--orders", str(orders)], TOOLS, env, mode) as client:
            for label, name, arguments in [
                ("string for a boolean", "purge", {"path": "/srv", "recursive": False,
                                                   "force": "true"}),
                ("number for a boolean", "purge", {"path": "/srv", "recursive": False,
                                                   "force": 1}),
                ("left to the default", "purge", {"path": "/srv"}),
                ("an argument it lacks", "deploy", {"service": "api", "dryRun": True}),
                ("refused outright", "deploy", {"service": "secrets"}),
                ("annotated, not read-only", "touch", {"path": "/srv/x"}),
                ("allowed", "purge", {"path": "/tmp/x", "recursive": False}),
            ]:  # fmt: skip
                result = await client.call_tool(name, arguments)
                said[label] = ("ran: " if not result.is_error else "") + text_of(result)

    anyio.run(go)
    assert said["string for a boolean"].startswith("Not sent: the arguments are not ones")
    assert "force: 'true' is not of type 'boolean'" in said["string for a boolean"]
    assert "force: 1 is not of type 'boolean'" in said["number for a boolean"]
    assert "(no-recursive-purges)" in said["left to the default"]
    assert "'dryRun' is not an argument the tool declares" in said["an argument it lacks"]
    assert "(no-secret-deploys)" in said["refused outright"]
    assert "(nothing-irreversible)" in said["annotated, not read-only"]
    assert said["allowed"] == "ran: purged /tmp/x recursive=False force=False"
    assert recorded(record) == [
        {"tool": "purge", "path": "/tmp/x", "recursive": False, "force": False}
    ]  # no dry run of the refused deploy, nothing else


def test_the_built_in_orders_know_the_reference_git_server(repo: Path, tmp_path: Path) -> None:
    """With no orders of one's own (the first thing a new user tries), mcp-server-git's reads
    and reversible steps go through, and a reset is held for a person."""
    target = [GIT, "--repository", str(repo)]
    said: dict[str, Any] = {}

    async def go() -> None:
        async with gateway([], target, environment(), cwd=tmp_path) as client:
            said["status"] = await client.call_tool("git_status", {"repo_path": str(repo)})
            said["log"] = await client.call_tool("git_log", {"repo_path": str(repo)})
            said["reset"] = await client.call_tool("git_reset", {"repo_path": str(repo)})

    anyio.run(go)
    assert not said["status"].is_error
    assert not said["log"].is_error
    assert said["reset"].is_error
    assert "needs a person's approval" in text_of(said["reset"])
    assert staged(repo) == "a.txt"

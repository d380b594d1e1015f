"""``watchkeeper mcp-proxy``: the MCP gateway (docs/mcp.md), from the command line.

watchkeeper mcp-proxy --orders watchkeeper.yaml -- uvx mcp-server-git --repository .
watchkeeper mcp-proxy --server http://127.0.0.1:8600 --server-name db -- http://db:9000/mcp
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from typing import Annotated

import typer

from watchkeeper.cli.shared import LOCAL_ORDERS, OrdersOption, db_option, fail

#: Programs that start a server rather than being one: the server's name is further on.
_LAUNCHERS = frozenset({"uvx", "npx", "pipx", "bunx", "node", "deno", "docker", "podman",
                        "uv", "run", "exec", "-m", "--from"})  # fmt: skip


def server_name_of(target: list[str]) -> str:
    """A name for the wrapped server when none is given: the host of a URL, else the first
    word of the command that is not a launcher, an option, an option's value that names a
    variable, or an assignment; its version or tag and the words ``mcp`` and ``server`` around
    it are left out (``uvx mcp-server-git@latest`` is ``git``,
    ``docker run -i --rm -e TOKEN ghcr.io/github/github-mcp-server`` is ``github``)."""
    if len(target) == 1 and "://" in target[0]:
        host = target[0].split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        return host.split(":", 1)[0].strip("[]") or "mcp"
    for word in target:
        base = os.path.basename(word.rstrip("/"))
        if (word.startswith("-") or "=" in word or base in _LAUNCHERS
                or base.startswith("python") or _VARIABLE.fullmatch(word)):  # fmt: skip
            continue
        name = base.split("@", 1)[0].split(":", 1)[0].removesuffix(".py").removesuffix(".js")
        for prefix in ("mcp-server-", "mcp_server_", "server-", "mcp-"):
            name = name.removeprefix(prefix)
        for suffix in ("-mcp-server", "_mcp_server", "-mcp", "_mcp", "-server"):
            name = name.removesuffix(suffix)
        return name or "mcp"
    return "mcp"


#: An environment variable's name given to a launcher (``docker run -e TOKEN``): not the server.
_VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def _undumpable() -> None:
    """Keep other processes of the same user (the wrapped server among them) from reading this
    one's memory and ``/proc/PID/environ``, where the agent's key is (Linux; elsewhere nothing)."""
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def mcp_proxy(
    target: Annotated[
        list[str],
        typer.Argument(
            help="The wrapped MCP server after --: a command to run (stdio), or its URL "
            "(streamable HTTP).",
            show_default=False,
        ),
    ],
    orders: OrdersOption = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="WATCHKEEPER_SERVER",
            help="Decide on this watchkeeper server (with WATCHKEEPER_TOKEN, the "
            "agent's key) instead of in this process.",
        ),
    ] = None,
    server_name: Annotated[
        str | None,
        typer.Option(
            "--server-name",
            help="The wrapped server's name, as the orders see it "
            "in action.input.server. Default: from the command or URL.",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            envvar="WATCHKEEPER_WAIT",
            min=0,
            help="Seconds a call held for approval waits before it is refused "
            "(the agent may call again once it is approved).",
        ),
    ] = 60.0,
    hide_unchartered: Annotated[
        bool,
        typer.Option(
            "--hide-unchartered",
            help="Leave the tools outside the agent's charter "
            "out of tools/list (they are refused if called anyway).",
        ),
    ] = False,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            envvar="WATCHKEEPER_ENVIRONMENT",
            help="The environment the wrapped server acts in (prod, staging, …).",
        ),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            envvar="WATCHKEEPER_AGENT",
            help="The agent, in process (on a server its key says who it is).",
        ),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            envvar="WATCHKEEPER_SESSION",
            help="The session the calls belong to. Default: one per gateway.",
        ),
    ] = None,
    db: Annotated[
        str | None, db_option("In process: record every decision in this database.")
    ] = None,
) -> None:
    """Stand in front of an MCP server and decide every tool call first (docs/mcp.md)."""
    import anyio

    from watchkeeper.doors.mcp_proxy import Options, serve

    if not target:
        fail("name the MCP server to wrap after --: a command, or its http(s):// URL")
    _undumpable()
    logging.basicConfig(level=logging.WARNING, format="watchkeeper mcp-proxy: %(message)s")
    from watchkeeper.adapters.tool_gate import ToolGate
    from watchkeeper.errors import OrdersError

    if server and orders:
        fail("--orders and --server both given: the server decides under its own orders")
    if orders is None and not server and LOCAL_ORDERS.exists():
        orders = LOCAL_ORDERS
    try:
        tools = ToolGate(door="mcp", orders=orders, server=server, db=db, wait=wait,
                         environment=environment, agent=agent, session=session)  # fmt: skip
    except OrdersError as exc:  # refused now, every error listed, rather than on every call
        fail(str(exc))
    options = Options(
        server_name=server_name or server_name_of(target),
        session=tools.session,
        environment=tools.environment,
        agent=tools.agent,
        hide_unchartered=hide_unchartered,
        charter=tools.charter() if hide_unchartered else None,
    )
    if server_name is None:  # said once, where the client keeps the server's log
        sys.stderr.write(
            f"watchkeeper mcp-proxy: the orders see this server as "
            f"{options.server_name!r} (action.input.server); --server-name sets it\n"
        )
    anyio.run(serve, target, options, tools)

"""Whole-process start-up: the commands that sit in front of every tool call an agent makes.

Each command is run as a new process, as Claude Code runs a hook, many times; the median and
p99 wall times are compared with ``python3 -c pass`` measured in the same run (the floor no
Python program starts below), and with claude-code-safety-net's hook (npm), a peer that runs
in front of the same tool calls.

- ``watchkeeper --version``: the console script's own cost (target ≤ 1.5x the floor).
- ``watchkeeper hook claude-code`` embedded: the built-in orders decide in process
  (target ≤ 3x), and with ``--server``: a client of the standard library asks a running
  ``watchkeeper serve`` on SQLite, which decides and records (target ≤ 1.5x).
- ``watchkeeper check`` of the same command through the full command line.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import table
from bench.server import _server
from watchkeeper.doors.decider import stop
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

RUNS = int(os.environ.get("WATCHKEEPER_BENCH_STARTS", "40"))
EXE = str(Path(sys.executable).with_name("watchkeeper"))
SAFETY_NET = (
    Path(__file__).with_name("peers") / "node_modules/cc-safety-net/dist/bin/cc-safety-net.js"
)
EVENT = {"session_id": "bench", "transcript_path": "", "cwd": "/tmp",
         "hook_event_name": "PreToolUse", "tool_name": "Bash",
         "tool_input": {"command": "ls -la src"}, "tool_use_id": "toolu_bench"}  # fmt: skip
ACTION = {"tool": "shell", "input": {"command": "ls -la src"}}


def _times(args: list[str], stdin: bytes, env: dict[str, str]) -> list[float]:
    """Wall milliseconds of ``RUNS`` runs (after two warm-ups), each checked to succeed."""
    out = []
    for i in range(RUNS + 2):
        started = time.perf_counter()
        done = subprocess.run(args, input=stdin, capture_output=True, env=env, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise RuntimeError(f"{args} exited {done.returncode}: {done.stderr[-500:]!r}")
        if i == 1:
            time.sleep(2)  # a decider the first call started is listening by now
        if i >= 2:
            out.append(elapsed)
    return out


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def section() -> str:
    """The start-up section of bench/RESULTS.md."""
    # As installed: byte code cached (the warm-ups write it), nothing of ours in the environment.
    runtime = tempfile.mkdtemp()  # the warm deciders' sockets: this run's own
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WATCHKEEPER_") and k != "PYTHONDONTWRITEBYTECODE"}  # fmt: skip
    env["XDG_RUNTIME_DIR"] = runtime
    cold = {**env, "WATCHKEEPER_WARM": "0"}
    event = json.dumps(EVENT).encode()
    rows: list[tuple[str, list[float]]] = []
    try:
        rows += _rows(env, cold, event)
    finally:
        stop(os.path.join(runtime, "watchkeeper"))
        shutil.rmtree(runtime, ignore_errors=True)
    floor = statistics.median(rows[0][1])
    cells = [
        [
            name,
            f"{statistics.median(t):.1f} / {_p99(t):.1f}",
            f"{statistics.median(t) / floor:.2f}x",
        ]
        for name, t in rows
    ]
    return f"""## Start-up of the commands in front of each tool call (`bench/startup.py`)

Each command as a new process, {RUNS} runs after two warm-ups: wall milliseconds, and the
median as a multiple of `python3 -c pass` in this run. Targets: `--version` and the hook in
server mode ≤ 1.5x, the embedded hook and `check` ≤ 3x. The event is a `PreToolUse` of `Bash`
`ls -la src`. "Warm": the first call started a decider that keeps the orders compiled
(`watchkeeper.doors.warm`), the usual case; "cold": `WATCHKEEPER_WARM=0`, every call imports
the analyzers and compiles the orders, as the first call of a session does.

{table(cells, ["command", "p50 / p99 ms", "p50 / floor"])}
"""


def _rows(env: dict[str, str], cold: dict[str, str], event: bytes) -> list[tuple[str, list[float]]]:
    rows = [("python3 -c pass (the floor)", _times([sys.executable, "-c", "pass"], b"", env))]
    rows.append(("watchkeeper --version", _times([EXE, "--version"], b"", env)))
    hook = [EXE, "hook", "claude-code"]
    rows.append(("hook claude-code, embedded, warm", _times(hook, event, env)))
    rows.append(("hook claude-code, embedded, cold", _times(hook, event, cold)))
    with tempfile.TemporaryDirectory() as home:
        url = f"sqlite:///{home}/bench.db"
        subprocess.run([EXE, "db", "upgrade", "--db", url], check=True, capture_output=True)
        store = Store.open(url)
        key = Identities(store).add_agent("bench-coder")
        store.close()
        with _server(url, Path(home)) as base:
            served = {**env, "WATCHKEEPER_SERVER": base, "WATCHKEEPER_TOKEN": key,
                      "XDG_STATE_HOME": home}  # fmt: skip
            rows.append(
                ("hook claude-code, server mode, warm",
                 _times([EXE, "hook", "claude-code"], event, served))
            )  # fmt: skip
    check = [EXE, "check", "--json", "-"]
    action = json.dumps(ACTION).encode()
    rows.append(("watchkeeper check --json, warm", _times(check, action, env)))
    rows.append(("watchkeeper check --json, cold", _times(check, action, cold)))
    node = shutil.which("node")
    if node and SAFETY_NET.exists():
        home_env = {**env, "HOME": tempfile.mkdtemp()}
        rows.append(
            ("cc-safety-net hook --claude-code (npm)",
             _times([node, str(SAFETY_NET), "hook", "--claude-code"], event, home_env))
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    print(section())

"""The incident, replayed (``make demo``): an infrastructure agent consolidating two AWS accounts
plans to destroy the production VPC, the orders database (no final snapshot, automated backups
deleted with it), the ECS cluster, the load balancer and the bastion. watchkeeper holds it.

A server starts on a temporary SQLite database with ``watchkeeper.yaml`` beside this file; an
agent and two approvers are registered; a scripted agent (no model) works through the Claude
Code hook and ``watchkeeper terraform check``; an approver reads what is asked, and denies it
with an instruction; the agent prints the instruction and stops.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXE = str(Path(sys.executable).with_name("watchkeeper"))
ORDERS = str(HERE / "watchkeeper.yaml")
PLAN = str(HERE / "plan.json")
REQUEST = "Consolidate the legacy-prod AWS account into shared-prod and clean up what is left."
INSTRUCTION = (
    "Do not delete legacy-prod yet: snapshot prod-orders (final snapshot, keep the automated "
    "backups), restore it into shared-prod and cut over first; then plan again without the "
    "database and the network."
)


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip


def must(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = run(*args, env=env, stdin=stdin)
    if done.returncode != 0:
        raise SystemExit(f"`watchkeeper {' '.join(args)}` failed: {done.stderr or done.stdout}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="watchkeeper-incident-"))
    db = f"sqlite:///{work}/watchkeeper.db"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env = {**base_env, "WATCHKEEPER_DB": db, "WATCHKEEPER_ORDERS": ORDERS,
           "WATCHKEEPER_AUDIT_KEY": str(work / "audit.key"), "XDG_STATE_HOME": str(work)}  # fmt: skip

    say("setting up: a database, the agent, two approvers (group sre)")
    must("db", "upgrade", env=env)
    key = re.search(r"wk_agent_\S+", must("agents", "add", "infra-agent", env=env))
    if key is None:
        raise SystemExit("no agent key was printed")
    tokens = {}
    for person in ("alice@example.com", "bob@example.com"):
        must("users", "add", person, "--group", "sre", "--password-stdin", env=env,
             stdin="correct horse battery staple\n")  # fmt: skip
        token = re.search(r"wk_user_\S+", must("users", "token", person, env=env))
        if token is None:
            raise SystemExit(f"no token was printed for {person}")
        tokens[person] = token.group(0)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "server.log").open("w")
    server = subprocess.Popen([EXE, "serve", "--port", str(port), "--log-format", "text"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"the server did not start: {(work / 'server.log').read_text()}")
        print(f"server {url}, database {db}")
        return _incident(work, url, key.group(0), tokens, env)
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _incident(work: Path, url: str, key: str, tokens: dict[str, str], env: dict[str, str]) -> int:
    agent_env = {**env, "WATCHKEEPER_SERVER": url, "WATCHKEEPER_TOKEN": key,
                 "WATCHKEEPER_ENVIRONMENT": "prod"}  # fmt: skip
    transcript = work / "transcript.jsonl"
    transcript.write_text(json.dumps({"type": "user", "message": {"content": REQUEST}}) + "\n")
    say(f"the agent is asked: {REQUEST}")

    say("agent, through the Claude Code hook: Bash `terraform plan -out plan.out`")
    event = {"session_id": "incident-1", "transcript_path": str(transcript), "cwd": str(work),
             "hook_event_name": "PreToolUse", "tool_name": "Bash",
             "tool_input": {"command": "terraform plan -out plan.out"}, "tool_use_id": "toolu_1"}  # fmt: skip
    answer = json.loads(must("hook", "claude-code", env=agent_env, stdin=json.dumps(event)))
    print(json.dumps(answer["hookSpecificOutput"]))

    say("agent: `watchkeeper terraform check plan.json` before `terraform apply`")
    check = run("terraform", "check", PLAN, "--environment", "prod", env=agent_env)
    print(check.stdout.rstrip())
    print(f"exit status {check.returncode} (10: held for people)")
    held = re.search(r"Held for approval ([0-9a-f]{32})", check.stdout.replace("\n", ""))
    if check.returncode != 10 or held is None:
        raise SystemExit("the apply was not held")
    approval = held.group(1)

    say("the on-call channel (a `log` channel: the server's log)")
    told = []
    for _ in range(100):  # the outbox delivers in the background, within a moment
        told = [line for line in (work / "server.log").read_text().splitlines()
                if "watchkeeper.notify" in line and approval in line]  # fmt: skip
        if told:
            break
        time.sleep(0.1)
    if not told:
        raise SystemExit("nobody was told")
    print(told[0][:300])

    alice = {**env, "WATCHKEEPER_SERVER": url, "WATCHKEEPER_TOKEN": tokens["alice@example.com"]}
    say(f"alice, woken at 3 a.m.: `watchkeeper approvals show {approval[:8]}`")
    print(must("approvals", "show", approval, env=alice).rstrip())

    say("alice denies, with an instruction")
    print(must("approvals", "deny", approval, "--comment", INSTRUCTION, env=alice).rstrip())

    say("agent: runs the same check again, reads the answer, and stops")
    again = run("terraform", "check", PLAN, "--environment", "prod", "--json", env=agent_env)
    verdict = json.loads(again.stdout.splitlines()[-1])
    print(f"exit status {again.returncode}: {verdict['decision']}")
    print(f"agent: {verdict['message']}")
    if again.returncode != 20 or INSTRUCTION not in verdict["message"]:
        raise SystemExit("the denial and its instruction did not reach the agent")
    print("agent: stopping; nothing was applied.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

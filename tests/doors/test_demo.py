"""``make demo``, as a new user runs it: the incident is held, the approver sees what cannot be
recovered, the denial's instruction reaches the agent, and nothing is applied."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_make_demo_holds_the_incident_and_the_agent_stops() -> None:
    done = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "exit status 10 (10: held for people)" in out
    assert "watchkeeper.notify infra-agent asks for approval" in out
    shown = " ".join(out.split("approvals show", 1)[1].split())  # as read, however wrapped
    assert "aws_db_instance.orders (holds database) NOT RECOVERABLE" in shown
    assert "aws_vpc.main (holds network) NOT RECOVERABLE" in shown
    assert "exit status 20: deny" in out
    assert "agent: stopping; nothing was applied." in out

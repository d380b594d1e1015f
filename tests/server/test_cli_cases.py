"""The cases CLI against a real server: the queue, a case whole, claim, hand back, resolve."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import Served
from tests.server.test_approvals import people
from tests.server.test_cases import CASE, open_case
from tests.server.test_cli_approvals import cli

#: These talk to the server as other processes do: over a socket.
pytestmark = pytest.mark.socket


def test_a_person_works_a_case_from_the_terminal(served: Served) -> None:
    case = open_case(served)
    code, out, _ = cli(served, served.approver, "cases", "list")
    assert code == 0
    assert case["id"] in out
    assert "customer charged twice" in out
    code, out, _ = cli(served, served.approver, "cases", "show", case["id"][:6])
    assert code == 0, out
    for said in (CASE["why"], CASE["asks_for"], CASE["customer"], *CASE["tried"],
                 "customer: I was charged twice!"):  # fmt: skip
        assert said in out
    code, out, _ = cli(served, served.approver, "cases", "claim", case["id"][:6])
    assert code == 0
    assert "claimed (alice@example.com)" in out
    (bob,) = people(served, "bob@example.com")
    code, _, err = cli(served, bob, "cases", "resolve", case["id"], "-m", "mine")
    assert code == 1
    assert "held by alice@example.com" in err
    code, _, err = cli(served, served.approver, "cases", "hand-back", case["id"])
    assert code == 1
    assert "notes are required" in err
    code, out, _ = cli(served, served.approver, "cases", "hand-back", case["id"],
                       "-m", "refund 600 now", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["state"] == "handed_back"
    code, out, _ = cli(served, served.approver, "cases", "list")
    assert out.strip() == "no cases in the queue"
    code, out, _ = cli(served, served.approver, "cases", "list", "--state", "handed_back")
    assert case["id"] in out
    code, _, err = cli(served, served.approver, "cases", "show", "ffff")
    assert code == 1
    assert "no case id starts with 'ffff'" in err

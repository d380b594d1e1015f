"""The Terraform plan analyzer: every delete and replace, and what it loses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SHARED, need_shared
from watchkeeper.analyzers.terraform import plan_effects
from watchkeeper.analyzers.terraform_catalog import STATEFUL
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

CORPUS = SHARED / "corpus" / "terraform"


def change(address: str, kind: str, actions: list[str], **body: Any) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, **body},
    }


def plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": "1.2", "resource_changes": list(changes)}


def test_catalog_covers_the_three_clouds() -> None:
    assert len(STATEFUL) >= 80
    assert {k.split("_", 1)[0] for k in STATEFUL} >= {"aws", "google", "azurerm"}


def test_a_stateful_delete_without_a_final_snapshot_is_irreversible() -> None:
    effects = plan_effects(
        plan(change("aws_db_instance.main", "aws_db_instance", ["delete"],
                    before={"skip_final_snapshot": True, "deletion_protection": False}))
    )  # fmt: skip
    (delete,) = [e for e in effects if e.verb == "delete"]
    assert (delete.target.id, delete.reversible, delete.attributes["stateful"]) == (
        "aws_db_instance.main", "no", "database",
    )  # fmt: skip
    assert delete.attributes["summary"]["stateful_deletes"] == ["aws_db_instance.main"]


def test_a_final_snapshot_makes_a_delete_recoverable() -> None:
    (delete,) = plan_effects(
        plan(change("aws_db_instance.main", "aws_db_instance", ["delete"],
                    before={"skip_final_snapshot": False, "final_snapshot_identifier": "last"}))
    )  # fmt: skip
    assert (delete.reversible, delete.recovery) == ("yes", "final snapshot last")


@pytest.mark.parametrize("actions", [["delete", "create"], ["create", "delete"]])
def test_replace_in_both_orders_is_a_delete(actions: list[str]) -> None:
    (delete, *_) = plan_effects(plan(change("aws_s3_bucket.logs", "aws_s3_bucket", actions)))
    assert (delete.verb, delete.attributes["action"]) == ("delete", "replace")


@pytest.mark.parametrize("actions", [["no-op"], ["read"], ["forget"]])
def test_no_op_read_and_forget_change_nothing(actions: list[str]) -> None:
    assert [e.verb for e in plan_effects(plan(change("a.b", "aws_s3_bucket", actions)))] == ["read"]


def test_drift_and_data_sources_are_not_changes() -> None:
    data = {**change("data.x.y", "aws_s3_bucket", ["delete"]), "mode": "data"}
    assert [e.verb for e in plan_effects({"resource_changes": [data], "resource_drift": [
        change("aws_s3_bucket.z", "aws_s3_bucket", ["delete"])]})] == ["read"]  # fmt: skip


def test_opening_ssh_to_the_internet_is_called_out() -> None:
    rule = {"ingress": [{"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22}]}
    effects = plan_effects(
        plan(change("aws_security_group.web", "aws_security_group", ["update"], after=rule))
    )
    assert any("opens ports 22-22" in str(e.attributes.get("weakens")) for e in effects)


def test_not_a_plan_is_dynamic() -> None:
    (effect,) = plan_effects({"hello": 1})
    assert "dynamic" in effect.flags


def test_ten_thousand_changes_are_all_counted() -> None:
    # How fast is measured by `make bench` (bench/plans.py), not here.
    changes = [
        change(f"aws_db_instance.x{i}", "aws_db_instance" if i % 2 else "aws_instance",
               ["delete"] if i % 3 == 0 else ["update"], before={"skip_final_snapshot": True})
        for i in range(10_000)
    ]  # fmt: skip
    effects = plan_effects(plan(*changes))
    assert sum(1 for e in effects if e.verb == "delete") == 3334


@pytest.mark.parametrize(
    ("payload", "decision"),
    [
        ({"plan": plan(change("aws_db_instance.main", "aws_db_instance", ["delete"]))}, "ask"),
        ({"plan": plan(change("aws_instance.web", "aws_instance", ["create"]))}, "allow"),
        ({"command": "terraform destroy -auto-approve"}, "ask"),
    ],
)
def test_through_the_gateway_in_production(payload: dict[str, Any], decision: str) -> None:
    d = Gateway(builtin()).submit({"tool": "terraform", "environment": "prod", "input": payload})
    assert d.decision == decision, d.reasons


def test_the_corpus_plans_count_every_delete_and_replace() -> None:
    need_shared(CORPUS)
    for line in (CORPUS / "index.jsonl").read_text().splitlines():
        row = json.loads(line)
        effects = plan_effects(json.loads((CORPUS / row["file"]).read_text()))
        actions = [e.attributes.get("action") for e in effects if e.verb == "delete"]
        assert (actions.count("delete"), actions.count("replace")) == (
            row["n_delete"], row["n_replace"]), row["file"]  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("aws_db_instance.main", id="not-an-object"),
        pytest.param({"address": "a", "mode": "managed", "change": None}, id="no-change"),
        pytest.param(
            {"address": "a", "mode": "managed", "change": {"actions": "delete"}},
            id="actions-not-a-list",
        ),
        pytest.param(
            {"address": "a", "mode": "managed", "change": {"actions": ["destroy"]}},
            id="unknown-action",
        ),
        pytest.param(
            {"address": "a", "mode": "weird", "change": {"actions": ["delete"]}}, id="unknown-mode"
        ),
    ],
)
def test_a_change_that_cannot_be_read_is_held_not_skipped(bad: Any) -> None:
    effects = plan_effects(plan(bad))
    assert any("dynamic" in e.flags for e in effects)
    d = Gateway(builtin()).submit(
        {"tool": "terraform", "environment": "prod", "input": {"plan": plan(bad)}}
    )
    assert d.decision != "allow"

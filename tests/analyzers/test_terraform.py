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
    data = {**change("data.x.y", "aws_s3_bucket", ["read"]), "mode": "data"}
    assert [e.verb for e in plan_effects({"resource_changes": [data], "resource_drift": [
        change("aws_s3_bucket.z", "aws_s3_bucket", ["delete"])]})] == ["read"]  # fmt: skip


def test_a_data_source_that_claims_to_change_is_held() -> None:
    # terraform never plans a data source's delete: such a plan was not written by terraform.
    data = {**change("data.x.y", "aws_s3_bucket", ["delete"]), "mode": "data"}
    assert any("dynamic" in e.flags for e in plan_effects(plan(data)))


@pytest.mark.parametrize(
    ("kind", "actions", "body"),
    [
        ("aws_iam_role_policy_attachment", ["create"], {}),
        ("aws_s3_bucket_policy", ["update"], {}),
        ("google_project_iam_member", ["create"], {}),
        ("azurerm_role_assignment", ["create"], {}),
        ("google_compute_firewall", ["create"], {}),  # what it opens is not in the plan
        (
            "google_compute_firewall",
            ["create"],
            {"after": {"source_ranges": ["0.0.0.0/0"], "allow": [{"protocol": "tcp"}]}},
        ),
        (
            "azurerm_network_security_rule",
            ["create"],
            {"after": {"access": "Allow", "direction": "Inbound", "source_address_prefix": "*"}},
        ),
        ("azurerm_network_security_rule", ["update"], {}),
        (
            "aws_security_group_rule",
            ["create"],
            {"after": {"ipv6_cidr_blocks": ["::/0"], "from_port": 0, "to_port": 0}},
        ),
        (
            "aws_db_instance",
            ["update"],
            {"before": {"deletion_protection": True}, "after": {"deletion_protection": False}},
        ),
        (
            "aws_db_instance",
            ["update"],
            {"before": {"backup_retention_period": 7}, "after": {"backup_retention_period": 0}},
        ),
        (
            "aws_db_instance",
            ["update"],
            {"before": {"engine_version": "14.9"}, "after": {"engine_version": "16.1"}},
        ),
        (
            "aws_kms_key",
            ["update"],
            {"before": {"is_enabled": True}, "after": {"is_enabled": False}},
        ),
        ("null_resource", ["create"], {}),
        ("aws_lambda_invocation", ["create"], {}),
    ],
)
def test_creates_and_updates_that_grant_expose_or_weaken_are_held(
    kind: str, actions: list[str], body: dict[str, Any]
) -> None:
    d = Gateway(builtin()).decide(
        {"tool": "terraform", "environment": "prod",
         "input": {"plan": plan(change(f"{kind}.x", kind, actions, **body))}}
    )  # fmt: skip
    assert d.decision != "allow", [e.to_json() for e in d.effects]


def test_replacing_a_database_with_a_final_snapshot_still_asks() -> None:
    before = {"skip_final_snapshot": False, "final_snapshot_identifier": "final"}
    replaced = change(
        "aws_db_instance.main", "aws_db_instance", ["delete", "create"], before=before
    )
    d = Gateway(builtin()).decide(
        {"tool": "terraform", "environment": "prod", "input": {"plan": plan(replaced)}}
    )
    assert d.decision == "ask"


def test_recovery_attributes_written_as_strings_count() -> None:
    before = {"skip_final_snapshot": "true", "deletion_protection": "false"}
    [found] = plan_effects(plan(change("aws_db_instance.m", "aws_db_instance", ["delete"],
                                       before=before)))  # fmt: skip
    assert found.reversible == "no"


def test_a_plan_and_a_command_are_both_read() -> None:
    d = Gateway(builtin()).decide(
        {"tool": "terraform", "environment": "prod",
         "input": {"plan": plan(), "command": "terraform destroy -auto-approve"}}
    )  # fmt: skip
    assert d.decision == "ask"


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
    d = Gateway(builtin()).decide({"tool": "terraform", "environment": "prod", "input": payload})
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
    d = Gateway(builtin()).decide(
        {"tool": "terraform", "environment": "prod", "input": {"plan": plan(bad)}}
    )
    assert d.decision != "allow"


def decided(payload: dict[str, Any]) -> str:
    return (
        Gateway(builtin())
        .decide({"tool": "terraform", "environment": "prod", "input": {"plan": payload}})
        .decision
    )


@pytest.mark.parametrize(
    "kind", ["null_resource", "terraform_data", "random_id", "random_password", "time_sleep"]
)
def test_deleting_terraforms_own_bookkeeping_is_free(kind: str) -> None:
    # It holds no data and stands for nothing outside Terraform: the next apply makes it again.
    deleted = plan(change(f"{kind}.x", kind, ["delete"], before={"id": "1"}))
    (effect,) = plan_effects(deleted)
    assert (effect.verb, effect.reversible) == ("delete", "yes")
    assert decided(deleted) == "allow"
    replaced = plan(change(f"{kind}.x[0]", kind, ["delete", "create"], before={"id": "1"}))
    assert decided(replaced) == "allow"


def test_bookkeeping_with_a_provisioner_or_beside_a_real_delete_is_still_held() -> None:
    provisioned = plan(change("null_resource.hook", "null_resource", ["delete"], before={}))
    provisioned["configuration"] = {"root_module": {"resources": [
        {"address": "null_resource.hook", "provisioners": [{"type": "local-exec"}]}]}}  # fmt: skip
    assert plan_effects(provisioned)[0].reversible == "unknown"  # a destroy-time command may run
    assert decided(provisioned) == "ask"
    beside = plan(change("random_id.x", "random_id", ["delete"], before={}),
                  change("aws_instance.web", "aws_instance", ["delete"], before={}))  # fmt: skip
    assert decided(beside) == "ask"
    lookalike = plan(change("aws_random_thing.x", "aws_random_thing", ["delete"], before={}))
    assert decided(lookalike) == "ask"


def test_reading_data_sources_and_creating_is_free() -> None:
    reads_and_creates = plan(
        {**change("data.aws_ami.a", "aws_ami", ["read"]), "mode": "data"},
        change("aws_s3_bucket.b", "aws_s3_bucket", ["create"], after={"bucket": "b"}),
    )
    assert decided(reads_and_creates) == "allow"

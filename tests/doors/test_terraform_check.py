"""``watchkeeper terraform check``: every plan of the corpus, its table and its exit code; the
decision is the gateway's, a held plan is never exit 0, and a plan nobody can read is a deny."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.analyzers.test_terraform import CORPUS
from watchkeeper.analyzers.terraform_catalog import ephemeral
from watchkeeper.cli import app
from watchkeeper.cli.terraform import EXIT
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

ROWS = [json.loads(line) for line in (CORPUS / "index.jsonl").read_text().splitlines() if line]
GATEWAY = Gateway(builtin())


def check(*args: str) -> tuple[int, dict[str, Any]]:
    done = CliRunner().invoke(app, ["terraform", "check", "--json", *args])
    return done.exit_code, json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_corpus_plan_exits_as_decided(row: dict[str, Any]) -> None:
    path = CORPUS / row["file"]
    status, answer = check(str(path), "--environment", "prod")
    plan = json.loads(path.read_text(encoding="utf-8"))
    decided = GATEWAY.decide({"tool": "terraform", "environment": "prod", "input": {"plan": plan}})
    assert (status, answer["decision"]) == (EXIT[decided.decision], decided.decision)
    deleted = [c for c in answer["changes"] if c["action"] in ("delete", "replace")]
    if row["expected"] == "block" and not all(ephemeral(c["type"]) for c in deleted):
        assert status in (10, 20), answer["message"]


def test_the_table_and_the_markdown_name_what_cannot_be_recovered(tmp_path: Path) -> None:
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance",
         "change": {"actions": ["delete"], "before": {"skip_final_snapshot": True}, "after": None}},
        {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket",
         "change": {"actions": ["create"], "before": None, "after": {}}},
    ]}  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    summary = tmp_path / "summary.md"
    done = CliRunner().invoke(app, ["terraform", "check", str(path), "--environment", "prod",
                                    "--markdown", str(summary)])  # fmt: skip
    assert done.exit_code in (10, 20)
    assert "aws_db_instance.main" in done.stdout
    assert "NOT recoverable" in done.stdout
    text = summary.read_text(encoding="utf-8")
    assert "| `aws_db_instance.main` | `aws_db_instance` |" in text
    assert "NOT recoverable" in text
    assert "| 1 | 0 | 0 | 1 |" in text  # create, update, replace, delete


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"{not json", "not JSON"), (b"[]", "must be a JSON object"),
     (b'{"resource_changes": 5}', "")],
)  # fmt: skip
def test_a_plan_nobody_can_read_is_a_deny(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    status, answer = check(str(path), "--environment", "prod")
    assert status in (10, 20)
    assert said in answer["message"]
    if said:
        assert (status, answer["decision"]) == (20, "deny")
    assert check(str(tmp_path / "missing.json"))[0] == 20

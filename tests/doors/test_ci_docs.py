"""docs/ci.md's snippets, run as written: each command of the GitHub Actions job and of the
GitLab CI job in order, in a shell, stopping at the first that fails (as a runner does; steps
marked ``if: always()`` still run). ``terraform`` cannot plan anything here (no providers, no
cloud), so a stand-in on PATH plays it: ``show -json`` prints a plan that deletes the
production database, ``apply`` leaves a mark. ``pip install watchkeeper`` is the checkout
already installed (no registry here). The check must stop the job before ``apply``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

GONE = {"actions": ["delete"], "before": {"skip_final_snapshot": True}, "after": None}
PLAN = {"format_version": "1.2", "resource_changes": [
    {"address": "aws_db_instance.prod", "mode": "managed", "type": "aws_db_instance",
     "change": GONE}]}  # fmt: skip
TERRAFORM = """#!/bin/sh
case "$1" in
  show) cat "$(dirname "$0")/plan.json" ;;
  apply) touch applied ;;
  *) echo "terraform $*" ;;
esac
"""


def snippets() -> dict[str, Any]:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    github, gitlab = (yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S))
    return {"github": github, "gitlab": gitlab}


def commands(kind: str, job: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each command, and whether it runs after a failure."""
    if kind == "github":
        steps = job["jobs"]["plan"]["steps"]
        return [(s["run"], s.get("if") == "always()") for s in steps if "run" in s]
    return [(line, False) for line in job["plan"]["script"]]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_documented_job_stops_before_apply(kind: str, tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "plan.json").write_text(json.dumps(PLAN), encoding="utf-8")
    (tools / "terraform").write_text(TERRAFORM, encoding="utf-8")
    (tools / "pip").write_text("#!/bin/sh\necho 'watchkeeper: the checkout, installed'\n")
    (tools / "terraform").chmod(0o755)
    (tools / "pip").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATCHKEEPER_") or k == "WATCHKEEPER_WARM"
    }
    env["PATH"] = f"{tools}:{Path(sys.executable).parent}:{env['PATH']}"
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "step-summary.md")
    failed: tuple[str, int] | None = None
    for command, always in commands(kind, snippets()[kind]):
        if failed is not None and not always:
            continue
        done = subprocess.run(["bash", "-e", "-c", command], cwd=work, env=env, timeout=120,
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0 and failed is None:
            failed = (command, done.returncode)
    assert failed is not None
    assert failed[0].startswith("watchkeeper terraform check")
    assert failed[1] == 10  # held for people: two must approve a production delete
    assert not (work / "applied").exists()
    assert "NOT recoverable" in (work / "summary.md").read_text(encoding="utf-8")
    if kind == "github":
        assert "aws_db_instance.prod" in (tmp_path / "step-summary.md").read_text(encoding="utf-8")

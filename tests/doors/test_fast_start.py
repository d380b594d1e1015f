"""The commands in front of every tool call import only what they use: no Typer, Rich,
SQLAlchemy, FastAPI, sqlglot, Alembic or pydantic on the fast paths (their cost is measured
by ``make bench``; this keeps them out of the import graph)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("typer", "rich", "click", "sqlalchemy", "fastapi", "starlette", "sqlglot", "alembic",
         "pydantic", "yaml", "httpx", "cryptography", "psycopg", "cel_expr_python")  # fmt: skip


def imported(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    return {m.split(".")[0] for m in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    [
        "import watchkeeper",
        "import watchkeeper.cli",
        "import watchkeeper.doors.hook, watchkeeper.doors.client, watchkeeper.doors.claude_code",
        # the console script's own path for --version
        "import sys; sys.argv = ['watchkeeper', '--version']\nfrom watchkeeper.cli import main\n"
        "main()",
    ],
)
def test_fast_paths_import_nothing_heavy(code: str) -> None:
    assert imported(code) & set(HEAVY) == set()


def test_the_heavy_list_is_real() -> None:
    # The check above can fail: the full command line does import them.
    assert {"typer", "rich"} <= imported("import watchkeeper.cli.application")


def test_deciding_a_shell_command_in_process_reads_no_sql_parser() -> None:
    # The embedded hook, `sh` and `check` import sqlglot only once there is SQL to read.
    decided = (
        "from watchkeeper.gateway import Gateway\nfrom watchkeeper.orders.loader import builtin\n"
        "Gateway(builtin()).decide({'tool': 'shell', 'input': {'command': 'ls -la'}})"
    )
    assert "sqlglot" not in imported(decided)
    sql = decided.replace("'ls -la'", "\"psql -c 'select 1'\"")
    assert "sqlglot" in imported(sql)

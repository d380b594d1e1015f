"""SQL dialects by the names people write, and sqlglot's name for each.

    named("PostgreSQL")   # 'postgres'
    named("sqlserver")    # 'tsql'
    named("ansi")         # 'generic' (sqlglot's own reading)
    named("db2")          # UnknownDialect: names every dialect accepted

A dialect nobody reads is an error naming the accepted ones, never a guess: the statement would
otherwise be read by rules it does not follow.
"""

from __future__ import annotations

from watchkeeper.errors import UsageError

#: Names people write for a dialect, and sqlglot's name for it.
ALIASES = {
    "postgresql": "postgres",
    "pg": "postgres",
    "psql": "postgres",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "mariadb": "mysql",
    "tidb": "mysql",
    "sqlite3": "sqlite",
    "ansi": "generic",
}
#: sqlglot's dialects, and ``generic`` for its own reading. Written out, not read from sqlglot:
#: the standing orders name dialects when they load, and importing sqlglot for that would cost
#: every door that decides in process a tenth of a second (a test keeps the list sqlglot's).
KNOWN = (
    "athena", "bigquery", "clickhouse", "databricks", "dax", "doris", "dremio", "drill", "druid",
    "duckdb", "dune", "exasol", "fabric", "generic", "hive", "materialize", "mysql", "oracle",
    "postgres", "presto", "prql", "redshift", "risingwave", "snowflake", "solr", "spark",
    "spark2", "sqlite", "starrocks", "tableau", "teradata", "trino", "tsql",
)  # fmt: skip
#: Every name accepted, as written in orders and actions.
ACCEPTED = tuple(sorted({*KNOWN, *ALIASES}))


class UnknownDialect(UsageError):
    """A dialect name that is neither sqlglot's nor one of :data:`ALIASES`."""


def named(name: str) -> str:
    """sqlglot's name for the dialect ``name`` (any case, surrounding spaces ignored)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in KNOWN:
        raise UnknownDialect(
            f"dialect {name!r} is not one watchkeeper reads; use one of: {', '.join(ACCEPTED)}"
        )
    return key

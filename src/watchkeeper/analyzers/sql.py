"""SQL: what a batch of statements really does, statement by statement (sqlglot).

    {"tool": "sql", "input": {"statement": "DELETE FROM users WHERE 1=1", "dialect": "postgres"}}

gives one ``delete`` of ``db_rows`` with scope ``all``: a WHERE that is always true counts as
none. Every statement of the batch is analyzed; what cannot be parsed is ``unknown`` and
``dynamic``, never allowed by default in production. Nothing is ever executed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

from watchkeeper import confusables, dialects
from watchkeeper.analyzers.effects import Flag, Reversible, Verb, builder
from watchkeeper.errors import AnalyzerError
from watchkeeper.models import Action, Effect, Span

# sqlglot logs a warning for each statement it keeps as an opaque command; those statements
# become `dynamic` effects here, so the log line would only be noise on the operator's terminal.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

MAX_SQL = 200_000
_EXECUTABLE_COMMENT = re.compile(r"/\*[!M+]")  # MySQL /*!, MariaDB /*M!, Oracle hints /*+
#: Text whose meaning depends on the server's quoting rules, not on what was claimed: a
#: backslash before a quote ends a string in PostgreSQL but not in MySQL; a bare carriage
#: return ends a `--` comment on some servers and not others.
_AMBIGUOUS = re.compile(r"\\['\"]|\r(?!\n)")
#: What dialects lex apart: `#` (a comment in MySQL), block comments (nested in PostgreSQL),
#: `--` without a space, backslashes, dollar quotes, backticks, double quotes.
_LEXED_APART = re.compile(r"#|/\*|--|\\|\$\w*\$|`|\"")
_UNTRUSTED_LANGUAGE = re.compile(
    r"\bLANGUAGE\s+['\"]?(plpythonu|plpython3u|plpython2u|plperlu|pltclu|plsh|c|internal|"
    r"java|javascript|python|plv8)\b",
    re.I,
)
_SERVER_SIDE = re.compile(r"\b(xp_cmdshell|sp_oacreate|sp_execute_external_script)\b", re.I)
_PROGRAM = re.compile(r"\bPROGRAM\b", re.I)
_OUTFILE = re.compile(r"\bINTO\s+(OUT|DUMP)FILE\b", re.I)
_DESTRUCTIVE_WORD = re.compile(r"\b(DROP|TRUNCATE|DELETE|PURGE)\b", re.I)
_FIELD = "statement"
_STATEMENT_WORD = re.compile(
    r"\b(DROP|TRUNCATE|DELETE|UPDATE|INSERT|MERGE|ALTER|CREATE|GRANT|REVOKE|EXEC|EXECUTE|COPY|"
    r"CALL|REPLACE|RENAME|LOAD|SHUTDOWN|KILL|BACKUP|RESTORE|DBCC)\b",
    re.I,
)
#: SET that changes the server, not the session: MySQL's GLOBAL/PERSIST and passwords.
_SERVER_SETTING = re.compile(r"\s*(PASSWORD|GLOBAL|PERSIST|PERSIST_ONLY|@@GLOBAL|ROLE\s+DEFAULT)\b",
                             re.I)  # fmt: skip
#: Functions a SELECT can call that act: run SQL elsewhere, write or read server files, end
#: sessions, drop replication slots, move sequences, run programs.
_ACTING_FUNCTIONS = re.compile(
    r"^(dblink\w*|lo_\w+|pg_terminate_backend|pg_cancel_backend|pg_drop_\w+|pg_reload_conf|"
    r"pg_rotate_logfile|pg_promote|pg_switch_wal|pg_create_\w+|pg_write\w*|pg_file_\w+|"
    r"pg_read_\w*file|pg_ls_\w+|set_config|setval|sys_exec|sys_eval|xp_\w+|sp_\w+|"
    r"load_file|query_to_xml|pg_catalog\.\w+|lo_export|copy_\w+|system\$\w+)$",
    re.I,
)
#: Functions sqlglot does not know that only compute or report (sizes, names, definitions,
#: privileges, the server's version): calling one reads. Unqualified, or in ``pg_catalog``.
_READING_FUNCTIONS = frozenset(
    "pg_size_pretty pg_size_bytes pg_total_relation_size pg_relation_size pg_table_size "
    "pg_indexes_size pg_database_size pg_tablespace_size pg_column_size pg_relation_filenode "
    "pg_get_viewdef pg_get_functiondef pg_get_indexdef pg_get_constraintdef pg_get_triggerdef "
    "pg_get_ruledef pg_get_expr pg_get_userbyid pg_get_serial_sequence pg_typeof format_type "
    "obj_description col_description shobj_description pg_table_is_visible "
    "pg_function_is_visible has_table_privilege has_schema_privilege has_database_privilege "
    "has_column_privilege has_function_privilege pg_has_role pg_backend_pid "
    "pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery pg_current_wal_lsn "
    "pg_last_wal_replay_lsn pg_wal_lsn_diff pg_encoding_to_char inet_server_addr "
    "inet_server_port inet_client_addr current_setting pg_relation_is_updatable "
    "sqlite_version last_insert_rowid changes total_changes database found_rows "
    "connection_id row_count schema_name object_id db_name object_name".split()
)
_TRANSACTION = re.compile(
    r"\s*(START(\s+|\s+AS\s+)TRANSACTION|BEGIN|END|SAVEPOINT|RELEASE)\b", re.I
)
#: CREATE of an object sqlglot keeps as text and that holds no data yet.
_NEW_OBJECT = re.compile(
    r"\s*(DOMAIN|TYPE|SCHEMA|COLLATION|SEQUENCE|STATISTICS)\b(?!.*\bREPLACE\b)", re.I | re.S
)
_ATTACH_INDEX = re.compile(
    r"\s*TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?[\w\".]+\s+ADD\s+CONSTRAINT\s+[\w\"]+\s+"
    r"(PRIMARY\s+KEY|UNIQUE)\s+USING\s+INDEX\s+[\w\"]+\s*;?\s*$",
    re.I,
)


_effect = builder("sql")
"""Build an effect this analyzer found: ``_effect(verb, kind, id, scope=…, flags=…)``."""


def _name(node: exp.Expression | None) -> str | None:
    if not isinstance(node, exp.Expression):  # `DELETE SELECT` leaves a bare flag here
        return None
    table = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if table is not None:  # catalog.db.name, without generating SQL (the costly part)
        return ".".join(p for p in (table.catalog, table.db, table.name) if p) or None
    return node.sql()[:200] or None


def _always_true(where: exp.Expression | None) -> bool:
    """No WHERE, or one that holds for every row (``1=1``, ``x = x OR 1``)."""
    if where is None:
        return True
    condition = where.this if isinstance(where, exp.Where) else where
    try:
        simplified = simplify(condition.copy())
    except Exception:  # a condition sqlglot cannot reason about is not proven to narrow
        return True
    if isinstance(simplified, exp.Boolean):
        return bool(simplified.this)
    if isinstance(simplified, exp.Literal) and simplified.is_number:
        return float(simplified.this) != 0
    return isinstance(simplified, exp.EQ) and simplified.left == simplified.right


#: Column names that are a table's own key by the names schemas give them: one value, at most
#: one row. ``user_id`` in a table of orders is another table's key: it may match many rows.
_KEY = frozenset({"id", "uuid", "pk"})


def _keyed(condition: Any, table: exp.Expression) -> tuple[str, int] | None:
    """``(column, rows at most)`` when ``condition`` pins the key of ``table`` (``id``, or
    ``<table>_id``) to literal values (``id = 42``, ``id IN (1, 2, 3)``, either joined by AND
    to anything); else ``None``."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        found = [k for k in (_keyed(condition.left, table), _keyed(condition.right, table)) if k]
        return min(found, key=lambda k: k[1]) if found else None
    column: Any = None
    values: list[Any] = []
    if isinstance(condition, exp.EQ):
        column, values = condition.left, [condition.right]
        if isinstance(column, exp.Literal):
            column, values = condition.right, [condition.left]
    elif isinstance(condition, exp.In) and not condition.args.get("query"):
        column, values = condition.this, list(condition.expressions)
    if not isinstance(column, exp.Column) or not values:
        return None
    if not all(isinstance(v, exp.Literal) for v in values):
        return None
    name, own = column.name.lower(), table.name.lower() if isinstance(table, exp.Table) else ""
    keys = {*_KEY, f"{own}_id", f"{own.removesuffix('s')}_id"} if own else set(_KEY)
    # Qualified by another table (a join's, `u.id`): it bounds that table's rows, not these.
    mine = {own, str(table.alias).lower()} if isinstance(table, exp.Table) else set()
    if name not in keys or (column.table and column.table.lower() not in mine):
        return None
    return column.name, len({v.sql() for v in values})


#: Schemas of the server's own accounts and rights: a row written there is access granted.
_SYSTEM_SCHEMAS = frozenset({"mysql", "pg_catalog", "information_schema", "sys", "master"})


def _rows(verb: Verb, node: exp.Expression, span: Span) -> Effect:
    table = _name(node.this)
    if _always_true(node.args.get("where")) and not isinstance(node, exp.Merge):
        return _effect(
            verb,
            "db_rows",
            table,
            scope="all",
            reversible="no",
            recovery="restore the table from a backup",
            span=span,
            narrowed=False,
        )
    where = node.args.get("where")
    keyed = _keyed(where.this, node.this) if isinstance(where, exp.Where) else None
    if keyed is not None and not isinstance(node, exp.Merge) and not node.args.get("joins"):
        # Bounded: at most one row per literal key value, and the count is said.
        column, count = keyed
        return _effect(verb, "db_rows", table, scope="one" if count == 1 else "many",
                       reversible="no", span=span, narrowed=True, bounded_by=column,
                       count=count)  # fmt: skip
    return _effect(verb, "db_rows", table, scope="many", reversible="no", span=span, narrowed=True)


def _alter(node: exp.Alter, span: Span) -> list[Effect]:
    table = _name(node.this)
    out = []
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.Drop) or "DROP" in action.sql().upper()[:12]:
            out.append(
                _effect("delete", "db_table", table, reversible="no", span=span, part="column")
            )
        elif isinstance(action, exp.ColumnDef | exp.Constraint | exp.AddConstraint) or (
            isinstance(action, exp.Schema)  # Oracle's ADD (col type, …)
            and all(isinstance(c, exp.ColumnDef) for c in action.expressions)
        ):
            out.append(_effect("update", "db_table", table, reversible="yes", span=span))
        else:
            out.append(_effect("update", "db_table", table, reversible="unknown", span=span))
    return out or [_effect("update", "db_table", table, span=span)]


def _command(node: exp.Command, dialect: str, span: Span) -> list[Effect]:
    """Statements sqlglot keeps as opaque commands."""
    word = str(node.this).upper()
    tail = node.expression
    if isinstance(tail, exp.Literal):
        rest = str(tail.this)
    else:  # an expression, or the raw text sqlglot kept as a string
        rest = tail.sql() if isinstance(tail, exp.Expression) else str(tail or "")
    if word == "EXPLAIN":
        # Options come first: `ANALYZE`, `(FORMAT JSON, ANALYZE)`, `/* … */ ANALYZE`. With
        # ANALYZE anywhere among them the statement runs.
        bare = re.sub(r"/\*.*?\*/|--[^\n]*", " ", rest, flags=re.S)
        options = re.match(r"\s*((\([^)]*\)|ANALY[SZ]E|VERBOSE|EXTENDED|FORMAT\s*=?\s*\w+)\s*)*",
                           bare, re.I)  # fmt: skip
        head = options.group(0) if options else ""
        if re.search(r"\bANALY[SZ]E\b", head, re.I):
            return statements(bare[len(head) :], dialect, span)
        return [_effect("read", "db_rows", None, reversible="yes", span=span)]
    if word in ("SHOW", "DESCRIBE", "DESC", "USE", "SET", "BEGIN", "COMMIT", "START"):
        if _STATEMENT_WORD.search(rest):  # T-SQL runs on without `;`: SET NOCOUNT ON DROP …
            return [_effect("unknown", "db_table", None, flags=["dynamic"], span=span,
                            why=f"{word} followed by more statements")]  # fmt: skip
        if word == "SET" and _SERVER_SETTING.match(rest):
            return [_server_setting(span)]
        return [_effect("read", "db_rows", None, reversible="yes", span=span)]
    if word in ("GRANT", "REVOKE"):  # MySQL's `GRANT … TO 'user'@'host'`
        return [_effect("grant", "db_table", None, flags=["privileged"], span=span)]
    if word == "CREATE" and _NEW_OBJECT.match(rest):
        return [_effect("create", "db_table", None, reversible="yes", span=span,
                        object=rest.split(None, 1)[0].lower())]  # fmt: skip
    if word == "ALTER" and _ATTACH_INDEX.match(rest):
        # ADD CONSTRAINT … USING INDEX: an index already built becomes the key; undone by
        # dropping the constraint.
        return [_effect("update", "db_table", None, reversible="yes", span=span)]
    if _DESTRUCTIVE_WORD.search(f"{word} {rest}"):
        return [_effect("delete", "db_table", None, reversible="no", flags=["dynamic"], span=span)]
    return [_effect("unknown", "db_table", None, flags=["dynamic"], span=span)]


def _server_setting(span: Span) -> Effect:
    return _effect("update", "host", None, reversible="unknown", flags=["privileged"],
                   span=span, why="changes the server or an account, not the session")  # fmt: skip


def _nested(node: exp.Expression, dialect: str, span: Span) -> list[Effect]:
    """What runs inside a statement: data-modifying CTEs (``WITH d AS (DELETE …) SELECT``),
    and functions that act (``SELECT dblink_exec(…)``, ``lo_export``, ``pg_terminate_backend``)."""
    out: list[Effect] = []
    calls = []
    for inner in node.find_all(exp.Delete, exp.Update, exp.Merge, exp.Insert, exp.Anonymous):
        if isinstance(inner, exp.Anonymous):
            calls.append(inner)
        elif inner is not node:
            out.extend(_statement(inner, dialect, span))
    for call in calls:
        # A function sqlglot does not know is the database's or the user's: it may do
        # anything (cron.schedule, dblink_exec, OPENQUERY, url(), a plpgsql routine).
        name = call.name if isinstance(call.name, str) else "?"
        parent = call.parent
        schema = parent.this.name.lower() if isinstance(parent, exp.Dot) else "pg_catalog"
        if name.lower() in _READING_FUNCTIONS and schema == "pg_catalog":
            # It computes or reports; the statement around it says what is read. Another
            # schema's function of that name is whatever its author wrote.
            continue
        known = _ACTING_FUNCTIONS.match(name)
        out.append(_effect("execute", "process", None,
                           flags=["privileged", "dynamic"] if known else ["dynamic"],
                           span=span, why=f"calls {name}()"))  # fmt: skip
    return out


#: SQLite pragmas that only report, whatever they are given (``table_info(users)``).
_REPORTING_PRAGMAS = frozenset(
    "table_info table_xinfo table_list index_list index_info index_xinfo foreign_key_list "
    "foreign_key_check database_list compile_options integrity_check quick_check page_count "
    "freelist_count collation_list function_list module_list pragma_list data_version".split()
)
#: Pragmas that report their setting when given nothing, and change it when given a value.
_SETTING_PRAGMAS = frozenset(
    "journal_mode user_version schema_version application_id encoding page_size foreign_keys "
    "synchronous cache_size busy_timeout auto_vacuum recursive_triggers temp_store "
    "locking_mode max_page_count mmap_size secure_delete cell_size_check".split()
)


def _pragma(node: exp.Pragma, span: Span) -> list[Effect]:
    """A read when the pragma only reports; otherwise a change of the database's settings
    (``PRAGMA journal_mode = DELETE``, ``PRAGMA writable_schema = 1``, ``PRAGMA optimize``)."""
    target, given = node.this, False
    if isinstance(target, exp.EQ):  # `name = value`, or SQLite's reading of `name(value)`
        target, given = target.this, True
    if isinstance(target, exp.Dot):  # a schema first: main.table_info(users)
        target = target.expression
    if isinstance(target, exp.Anonymous):
        given = given or bool(target.expressions)
    name = str(target.name if isinstance(target, exp.Expression) else target).lower()
    if name in _REPORTING_PRAGMAS or (name in _SETTING_PRAGMAS and not given):
        return [_effect("read", "db_table", None, reversible="yes", span=span, pragma=name)]
    why = f"PRAGMA {name} changes how the database works"
    return [_effect("update", "db_table", None, reversible="unknown", flags=["privileged"],
                    span=span, pragma=name, why=why)]  # fmt: skip


def _statement(node: exp.Expression, dialect: str, span: Span) -> list[Effect]:
    if isinstance(node, exp.Pragma):
        return _pragma(node, span)
    nested = _nested(node, dialect, span)
    return [*_top(node, dialect, span), *nested]


def _top(node: exp.Expression, dialect: str, span: Span) -> list[Effect]:
    if isinstance(node, exp.Select) and node.args.get("into") is not None:
        # SELECT … INTO t creates a table (T-SQL) or fills variables
        return [_effect("create", "db_table", _name(node.args["into"]), reversible="yes",
                        span=span)]  # fmt: skip
    if isinstance(node, exp.Select | exp.Union | exp.Intersect | exp.Except | exp.Show):
        return [
            _effect("read", "db_rows", _name(node.find(exp.Table)), reversible="yes", span=span)
        ]
    if isinstance(node, exp.Insert):
        conflict = node.args.get("conflict")
        updates = conflict is not None and "NOTHING" not in str(conflict.args.get("action")).upper()
        # INSERT OR REPLACE: a row already there under the key is deleted for the new one
        replaces = str(node.args.get("alternative") or "").upper() == "REPLACE"
        table = _name(node.this)
        if table and table.lower().split(".")[0] in _SYSTEM_SCHEMAS:
            # INSERT INTO mysql.user (… Super_priv='Y'): a new account, with its rights
            return [_effect("grant", "db_table", table, flags=["privileged"], span=span)]
        if node.args.get("overwrite") or updates or replaces:
            # INSERT OVERWRITE replaces the table; ON CONFLICT DO UPDATE / ON DUPLICATE KEY
            # UPDATE rewrites the rows already there.
            return [_effect("overwrite", "db_rows", _name(node.this), scope="many",
                            reversible="no", recovery="restore the table from a backup",
                            span=span)]  # fmt: skip
        return [_effect("create", "db_rows", _name(node.this), reversible="yes", span=span)]
    if isinstance(node, exp.Delete):
        return [_rows("delete", node, span)]
    if isinstance(node, exp.Update):
        return [_rows("overwrite", node, span)]
    if isinstance(node, exp.Merge):
        return [_rows("overwrite", node, span)]
    if isinstance(node, exp.TruncateTable):
        return [
            _effect(
                "delete",
                "db_rows",
                _name(t),
                scope="all",
                reversible="no",
                recovery="restore the table from a backup",
                span=span,
            )
            for t in node.expressions or [node]
        ]
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "TABLE").upper()
        # An index is rebuilt from its table; a view or routine only from a definition kept
        # elsewhere; a sequence's current value and a table's rows are simply gone.
        undo: dict[str, tuple[Reversible, str]] = {
            "INDEX": ("yes", "create the index again"),
            "VIEW": ("unknown", "recreate it from its definition, if one is kept"),
            "MATERIALIZED VIEW": ("unknown", "recreate it from its definition, if one is kept"),
            "FUNCTION": ("unknown", "recreate it from its definition, if one is kept"),
            "PROCEDURE": ("unknown", "recreate it from its definition, if one is kept"),
            "TRIGGER": ("unknown", "recreate it from its definition, if one is kept"),
        }
        reversible, recovery = undo.get(kind, ("no", "restore from a backup"))
        # Every object a database holds is a `db_table` to the rules; `object` says which (a
        # database and a schema are all their tables at once).
        # sqlglot 30 lists what is dropped in `tables` (`DROP TABLE a, b`); earlier, in `this`.
        names = [_name(t) for t in node.args.get("tables") or ()] or [_name(node.this)]
        return [
            _effect(
                "delete",
                "db_table",
                name,
                scope="all" if kind in ("DATABASE", "SCHEMA") else "one",
                reversible=reversible,
                recovery=recovery,
                span=span,
                object=kind.lower(),
            )
            for name in names
        ]
    if isinstance(node, exp.Alter):
        return _alter(node, span)
    if isinstance(node, exp.Grant | exp.Revoke):
        return [
            _effect(
                "grant", "db_table", _name(node.find(exp.Table)), flags=["privileged"], span=span
            )
        ]
    if isinstance(node, exp.Create):
        if node.args.get("replace"):  # CREATE OR REPLACE TABLE: the old one, rows and all, goes
            kind = str(node.args.get("kind") or "").upper()
            return [_effect("overwrite", "db_table", _name(node.this),
                            reversible="no" if kind == "TABLE" else "unknown",
                            recovery="restore from a backup", span=span)]  # fmt: skip
        kind = str(node.args.get("kind") or "").upper()
        if kind in ("FUNCTION", "PROCEDURE") and _UNTRUSTED_LANGUAGE.search(
            node.sql(dialect=_read(dialect))
        ):  # code that runs on the database host
            return [_effect("create", "db_table", _name(node.this), reversible="unknown",
                            flags=["privileged", "dynamic"], span=span,
                            why="untrusted-language code runs as the server")]  # fmt: skip
        if kind in ("TRIGGER", "RULE", "EVENT"):  # runs later, on every matching change
            return [_effect("create", "db_table", _name(node.this), reversible="unknown",
                            flags=["dynamic"], span=span, object=kind.lower())]  # fmt: skip
        return [_effect("create", "db_table", _name(node.this), reversible="yes", span=span)]
    if isinstance(node, exp.Copy):
        # COPY … PROGRAM runs a shell command on the server
        if _PROGRAM.search(node.sql(dialect=_read(dialect))):
            return [_effect("execute", "process", None, flags=["privileged", "dynamic"], span=span)]
        if node.args.get("kind"):  # COPY … FROM loads rows
            return [_effect("create", "db_rows", _name(node.this), span=span)]
        return [_effect("send", "db_rows", _name(node.this), flags=["egress"], span=span)]
    if isinstance(node, exp.Command):
        return _command(node, dialect, span)
    if isinstance(node, exp.Set) and any(
        str(item.args.get("kind") or "").upper() in ("GLOBAL", "PERSIST", "PERSIST_ONLY")
        or "@@GLOBAL" in item.sql().upper()
        for item in node.expressions
    ):
        return [_server_setting(span)]
    if isinstance(node, exp.Set | exp.Use | exp.Transaction | exp.Commit | exp.Rollback):
        return [_effect("read", "db_rows", None, reversible="yes", span=span)]
    if isinstance(node, exp.Describe):  # DESCRIBE t, EXPLAIN …: ANALYZE runs the statement
        if str(node.args.get("style") or "").upper() == "ANALYZE" and isinstance(
            node.this, exp.Expression
        ):
            return _statement(node.this, dialect, span)
        return [_effect("read", "db_rows", None, reversible="yes", span=span)]
    if isinstance(node, exp.Comment):  # COMMENT ON … IS '…': documentation, replaced at will
        return [_effect("update", "db_table", _name(node.this), reversible="yes", span=span)]
    # START TRANSACTION, which some dialects read as an alias
    if _TRANSACTION.match(node.sql(dialect=_read(dialect))):
        return [_effect("read", "db_rows", None, reversible="yes", span=span)]
    return [_effect("unknown", "db_table", None, flags=["dynamic"], span=span)]


def _read(dialect: str) -> str | None:
    """sqlglot's name for a dialect: its own generic reading is ``None``."""
    return None if dialect == "generic" else dialect


def statements(text: str, dialect: str, span: Span | None = None) -> list[Effect]:
    """Effects of every statement in ``text``, read as ``dialect``."""
    where = span or Span(_FIELD, 0, len(text))
    if len(text) > MAX_SQL:
        return [_effect("unknown", "db_table", None, flags=["dynamic"], span=where, why="too long")]
    flags: list[Flag] = []
    hidden = confusables.find(text)
    if hidden:  # what runs is not what reads
        flags.append("obfuscated")
    if _EXECUTABLE_COMMENT.search(text):  # MySQL runs what is inside /*! … */
        flags.append("obfuscated")
    if _AMBIGUOUS.search(text):  # read one way here, run another way there
        flags.append("dynamic")
    if _SERVER_SIDE.search(text):
        flags.append("privileged")
    out: list[Effect] = [
        _effect(
            "unknown",
            "db_table",
            None,
            flags=["obfuscated"],
            span=Span(where.field, f.index, f.index + 1),
            confusable=f.describe(),
        )
        for f in hidden
    ]
    if _OUTFILE.search(text):  # writes query results to a file on the server
        out.append(_effect("send", "file", None, flags=["egress"], span=where))
    try:
        parsed = sqlglot.parse(text, read=_read(dialect))
    except (SqlglotError, RecursionError, ValueError) as exc:
        first = str(exc).splitlines()[0][:200]
        return [
            *out,
            _effect("unknown", "db_table", None, flags=["dynamic", *flags], span=where, why=first),
        ]
    for node in parsed:
        if isinstance(node, exp.Expression):
            out.extend(_statement(node, dialect, where))
    if _SERVER_SIDE.search(text):
        out.append(_effect("execute", "process", None, flags=["privileged", "dynamic"], span=where))
    if flags:
        out = [e.with_flags(*flags) for e in out] or [
            _effect("unknown", "db_table", None, flags=["dynamic", *flags], span=where)
        ]
    return out or [_effect("read", "db_rows", None, reversible="yes", span=where, why="empty")]


#: The dialects a statement of the ``sql`` tool may run as, whatever the agent claims: the
#: default and the servers agents most often reach ("generic" is sqlglot's own reading).
PLAUSIBLE = ("postgres", "mysql", "sqlite", "generic")


def any_dialect(text: str, claimed: str, span: Span | None = None) -> list[Effect]:
    """Effects of ``text`` read as ``claimed`` and as every :data:`PLAUSIBLE` dialect: the
    union, so a reading that finds more (a DROP another dialect sees past a comment) counts.

    An effect only another dialect finds carries that dialect (``dialect: postgres``); a
    dialect that cannot read the statement adds an ``unknown`` effect saying so. The claim
    is a claim: the server is whatever the tool is connected to.
    """
    found = statements(text, claimed, span)
    seen = {_key(e) for e in found}
    # Dialects read the same text the same way but for comments, quoting and escapes: without
    # those, no dialect can see a statement the claimed one does not (another failing to parse
    # is its grammar, a Postgres-only type), and one reading is enough.
    if _LEXED_APART.search(text) is None and not any(e.verb == "unknown" for e in found):
        return found  # every dialect sees these words as the claimed one does
    for dialect in PLAUSIBLE:
        if dialect == claimed:
            continue
        for e in statements(text, dialect, span):
            # Each dialect that cannot read the statement says so, in its own effect.
            key = (*_key(e), dialect) if e.verb == "unknown" else _key(e)
            if key in seen:
                continue
            seen.add(key)
            why = e.attributes.get("why")
            reading = f"as {dialect} reads it" + (f": {why}" if why else "")
            if e.verb == "unknown" and why:
                reading = f"does not parse as {dialect}, which the server may be: {why}"
            found.append(e.with_attributes(dialect=dialect, why=reading))
    return found


def _key(e: Effect) -> tuple[object, ...]:
    """What makes two readings' effects the same effect (not why it was found)."""
    return (e.verb, e.target.kind, e.target.id, e.scope, e.reversible, e.flags, e.span)


class SqlAnalyzer:
    """Analyzes ``{"statement": "…", "dialect": "postgres", "database": "…"}``."""

    name = "sql"

    def analyze(self, action: Action) -> Sequence[Effect]:
        """Effects of every statement in the action's ``statement`` (or ``query``/``sql``),
        read as the claimed ``dialect`` (default ``postgres``) and every :data:`PLAUSIBLE` one."""
        texts = [action.input[k] for k in ("statement", "query", "sql") if k in action.input]
        if not texts or not all(isinstance(t, str) for t in texts):
            return [_effect("unknown", "db_table", None, flags=["dynamic"], why="no SQL statement")]
        given = action.input.get("dialect") or "postgres"
        if not isinstance(given, str):
            raise AnalyzerError(f"input.dialect must be a dialect's name, not {given!r}")
        try:
            claimed = dialects.named(given)
        except dialects.UnknownDialect as exc:  # a decision, naming what would be read
            raise AnalyzerError(f"input.dialect: {exc}") from None
        # Every field a client might send: a tool that runs `query` is not fooled by `statement`.
        return [e for t in texts for e in any_dialect(str(t), claimed)]

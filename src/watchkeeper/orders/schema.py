"""The schema of a standing orders document: every key, its type and its help text.

``docs/standing-orders.md`` carries a reference generated from this module; a test keeps the two
identical, so a key added here and not documented fails the build.
"""

from __future__ import annotations

from watchkeeper.decision import DECISIONS
from watchkeeper.dialects import ACCEPTED
from watchkeeper.models import FLAGS, REVERSIBILITY, SCOPES, VERBS
from watchkeeper.orders.validate import (
    Bool,
    Duration,
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Num,
    Record,
    Str,
    reference,
)

#: A name you declare (environment, group, agent, tool, rule): no spaces, no glob characters.
IDENT = Str(
    pattern=r"[A-Za-z0-9_.~@/][A-Za-z0-9_.:@/+~-]*",
    hint="; names use letters, digits and - _ . : @ / + ~, with no spaces or *",
)
#: A name in a selector or a list: ``*`` matches any run of characters, ``?`` any one.
NAME = Str(
    pattern=r"[A-Za-z0-9_.~@/*?][A-Za-z0-9_.:@/+~*?-]*",
    hint="; names use letters, digits and - _ . : @ / + ~ (and * ? as wildcards), no spaces",
)
NAMES = ListOf(NAME)
PATTERNS = ListOf(Str())

MATCH = Record(
    {
        "aws_accounts": Field(PATTERNS, "AWS account ids that belong to this environment."),
        "aws_profiles": Field(
            PATTERNS,
            "AWS CLI profiles whose credentials act in this environment (`--profile`, "
            "`AWS_PROFILE`).",
        ),
        "gcp_projects": Field(PATTERNS, "Google Cloud project ids."),
        "azure_subscriptions": Field(PATTERNS, "Azure subscription ids."),
        "kube_contexts": Field(PATTERNS, "Kubernetes contexts (glob patterns, e.g. `prod-*`)."),
        "terraform_workspaces": Field(PATTERNS, "Terraform workspaces."),
        "hosts": Field(PATTERNS, "Host names (glob patterns, e.g. `*.prod.internal`)."),
        "paths": Field(PATTERNS, "File system paths (globs; `**` spans directories)."),
    },
    doc="mapping",
)

ENVIRONMENT = Record(
    {
        "description": Field(Str(), "What this environment is, for people reading the orders."),
        "match": Field(MATCH, "How the inventory recognises a target in this environment."),
        "default": Field(
            Enum(*DECISIONS), "Decision when no rule matches an action here.", default="ask"
        ),
        "unplaced": Field(
            Bool(),
            "Judge here what nothing places (no claim, a target no environment recognises, a "
            "tool's current context), instead of in every environment. At most one.",
            default=False,
        ),
    }
)

CHARTER = Record(
    {
        "tools": Field(NAMES, "Tools the agent may use on its own; absent means any tool."),
        "environments": Field(ListOf(IDENT), "Environments it may act in; absent means any."),
        "intents": Field(
            ListOf(IDENT), "Intent kinds it may handle (`action.intent.kind`); absent means any."
        ),
        "limits": Field(
            MapOf(Num(), doc="mapping of `tool.field` → number"),
            "Upper bounds: `refund.amount: 100` means the refund's declared `amount` "
            "(or `input.amount`) must be at most 100.",
        ),
    }
)

AGENT = Record(
    {
        "owner": Field(
            Str(), "The human accountable for this agent; approves its out-of-charter asks."
        ),
        "description": Field(Str(), "What the agent is for."),
        "charter": Field(CHARTER, "What the agent may handle on its own."),
        "outside_charter": Field(
            Enum(*DECISIONS), "Decision for an action outside the charter.", default="ask"
        ),
    }
)

#: ``input.name`` or ``input.a.b``: a field of the action's input.
INPUT_FIELD = Str(
    pattern=r"input(\.[A-Za-z_][A-Za-z0-9_]*)+",
    hint="; name a field of the action's input as input.name (or input.a.b)",
)
INPUT_FIELD.doc = "`input.…` path"
SQL_DIALECT = Enum(*ACCEPTED)
SQL_DIALECT.doc = (
    "SQL dialect (`postgres`, `mysql`, `tsql`, `sqlite`, … as sqlglot names them, or "
    "`postgresql`, `pg`, `mssql`, `sqlserver`, `mariadb`, `ansi`)"
)

#: What a declared tool's input fields hold, each read by the analyzer of that language.
ANALYZE = Record(
    {
        "sql": Field(
            ListOf(INPUT_FIELD),
            "Fields holding SQL (a string), read by the SQL analyzer: every statement counts.",
        ),
        "dialect": Field(SQL_DIALECT, "The dialect of the `sql` fields (default `postgres`)."),
        "shell": Field(
            ListOf(INPUT_FIELD),
            "Fields holding a shell command line (a string, or a list of arguments), read by "
            "the shell analyzer.",
        ),
        "terraform_plan": Field(
            ListOf(INPUT_FIELD),
            "Fields holding a Terraform or OpenTofu plan (`terraform show -json`: an object, or "
            "a string of it), read by the Terraform analyzer.",
        ),
    },
    doc="mapping of analyzer → input fields",
)

TOOL_FIELDS = {
    "verb": Field(Enum(*VERBS), "What the tool does.", required=True),
    "target": Field(
        IDENT, "What kind of thing it acts on (`money`, `message`, `db_rows`, …).", required=True
    ),
    "id": Field(Str(), "CEL expression for the target's id, e.g. `input.order_id`."),
    "scope": Field(Enum(*SCOPES), "How much it touches.", default="one"),
    "reversible": Field(
        Enum(*REVERSIBILITY),
        "Whether it can be undone; `unknown` counts as irreversible. Reads default to `yes`.",
    ),
    "recovery": Field(Str(), "What would undo it."),
    "flags": Field(ListOf(Enum(*FLAGS)), "Flags every call of this tool carries."),
    "analyze": Field(
        ANALYZE,
        "Input fields that carry code, read by the analyzer named by the key; their effects "
        "join the declared one. `analyze: {}` says the tool carries none.",
    ),
}
#: Effect fields an attribute may not be named after (conditions read them from the effect).
RESERVED_ATTRIBUTES = frozenset(
    {"environment", "count", "attributes", "analyzer", "span", "verb", "target", "flags"}
)
#: A tool declaration also takes attribute keys of your own, each a CEL expression over
#: ``input`` and ``action`` (``amount: "input.amount"``); CEL conditions see them on the effect.
TOOL = Record(
    TOOL_FIELDS,
    doc="mapping (plus attributes: `name: CEL expression`)",
    extra=Str(),
    # Refused when compiled, saying why; `analyzer` is not a typo of `analyze`.
    not_typos=RESERVED_ATTRIBUTES,
)

SELECTOR = Record(
    {
        "tool": Field(NAMES, "Tool names (`*` matches any characters, `?` one)."),
        "environment": Field(ListOf(IDENT), "Environment names."),
        "agent": Field(NAMES, "Agent names (`*` matches any characters, `?` one)."),
        "verb": Field(ListOf(Enum(*VERBS)), "Effect verbs; matches when any effect has one."),
        "target": Field(
            NAMES, "Effect target kinds; with `verb`, both must hold for the same effect."
        ),
    }
)

APPROVERS = Record(
    {
        "group": Field(IDENT, "A group from `groups:` whose members may approve."),
        "users": Field(NAMES, "People who may approve, by identity."),
        "quorum": Field(Int(minimum=1), "Distinct people who must approve.", default=1),
    }
)

ESCALATION = Record(
    {
        "after": Field(Duration(), "Time pending before escalating.", required=True),
        "to": Field(IDENT, "Group to escalate to.", required=True),
    }
)

SECRET_HINT = "a literal, or `$env:NAME` to read it from the server's environment when used"

CHANNEL = Record(
    {
        "type": Field(
            Enum("webhook", "slack", "email", "log"), "How notifications are sent.", required=True
        ),
        "url": Field(Str(), "webhook, slack: where to POST (`$env:NAME` allowed)."),
        "secret": Field(
            Str(), "webhook: the HMAC-SHA256 key for `X-Watchkeeper-Signature`; " + SECRET_HINT
        ),
        "to": Field(ListOf(Str()), "email: recipients."),
        "from": Field(Str(), "email: the sender address."),
        "smtp": Field(Str(), "email: the SMTP server as `host:port`."),
        "starttls": Field(
            Bool(), "email: upgrade the SMTP connection with STARTTLS.", default=False
        ),
        "username": Field(Str(), "email: SMTP login; " + SECRET_HINT),
        "password": Field(Str(), "email: SMTP password; " + SECRET_HINT),
    }
)

RULE = Record(
    {
        "name": Field(IDENT, "Unique name; decisions and audit records cite it.", required=True),
        "owner": Field(Str(), "Who designed the rule and answers for it."),
        "description": Field(Str(), "Why the rule exists."),
        "match": Field(SELECTOR, "Indexed selectors; all given must hold. Absent: every action."),
        "when": Field(Str(), "CEL condition, compiled at load; a runtime error denies."),
        "decision": Field(Enum(*DECISIONS), "What a match decides.", required=True),
        "reason": Field(Str(), "Sentence shown to agents and approvers when the rule matches."),
        "approvers": Field(
            ListOf(APPROVERS), "Who must approve an `ask`; several entries must all be met."
        ),
        "timeout": Field(Duration(), "How long an approval may stay pending (default 1h)."),
        "on_timeout": Field(
            Enum("deny", "escalate"), "What a timeout does; it never approves.", default="deny"
        ),
        "escalate": Field(ListOf(ESCALATION), "Escalation ladder while pending."),
        "instructions": Field(Str(), "Told to the agent and the approver when the rule matches."),
        "notify": Field(
            ListOf(IDENT), "Channels (from `channels:`) told when an `ask` opens and is decided."
        ),
    }
)

#: What a watch rule sees: each decided action, each vote a person casts, each approval that
#: escalates, each outcome an agent reports.
WATCH_EVENTS = ("action", "vote", "escalation", "outcome")
#: What a watch rule counts its window over: the current event's agent, session, tool, target
#: or approver (``all``: one window for everything).
WATCH_SCOPES = ("agent", "session", "tool", "target", "approver", "all")
SEVERITIES = ("low", "medium", "high", "critical")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

WATCH_RULE = Record(
    {
        "name": Field(IDENT, "Unique name; alerts cite it.", required=True),
        "owner": Field(Str(), "Who designed the watch rule and answers for it."),
        "description": Field(Str(), "What it looks for, and why."),
        "on": Field(
            ListOf(Enum(*WATCH_EVENTS)),
            "Events it sees: `action` (each decided action), `vote` (each vote a person casts), "
            "`escalation` (each time a pending approval escalates), `outcome` (each outcome an "
            "agent reports).",
            default=["action"],
        ),
        "scope": Field(
            Enum(*WATCH_SCOPES),
            "What the window is counted over: the event's `agent`, `session`, `tool`, `target` "
            "or `approver`; `all` counts everything together.",
            default="agent",
        ),
        "window": Field(Duration(), "How far back `window.*` counts.", default=600),
        "when": Field(
            Str(),
            "CEL condition over `event`, `window`, `agent` and `clock`, compiled at load "
            "(docs/watch.md lists every field).",
            required=True,
        ),
        "severity": Field(Enum(*SEVERITIES), "How bad a match is.", default="medium"),
        "reason": Field(Str(), "The alert's sentence, read by whoever is told."),
        "notify": Field(
            ListOf(IDENT), "Channels (from `channels:`) told of an alert; absent: all of them."
        ),
        "pause": Field(
            Enum("session", "agent", "all"),
            "Pause this much when it matches (the event's session or agent, or everything); a "
            "person resumes it.",
        ),
        "tighten": Field(
            Enum("session", "agent", "tool", "approver"),
            "Tighten this when it matches, until a person clears it: what the event's session, "
            "agent or tool is allowed to do asks instead; what its approver approves needs a "
            "second approver.",
        ),
        "incident": Field(
            Bool(),
            "Open an incident tied to the event's action when it matches (for instance on an "
            "outcome that failed or was reverted).",
            default=False,
        ),
        "cooldown": Field(
            Duration(),
            "After an alert, the same rule stays quiet for the same scope this long "
            "(default: the window).",
        ),
    }
)

CALENDAR = Record(
    {
        "timezone": Field(Str(), "IANA time zone of the business hours.", default="UTC"),
        "days": Field(
            ListOf(Enum(*WEEKDAYS)),
            "Working days.",
            default=["mon", "tue", "wed", "thu", "fri"],
        ),
        "hours": Field(
            Str(pattern=r"\d{1,2}:\d{2}-\d{1,2}:\d{2}", hint="; write it like 09:00-18:00"),
            "Working hours, `HH:MM-HH:MM`.",
            default="09:00-18:00",
        ),
        "holidays": Field(
            ListOf(Str(pattern=r"\d{4}-\d{2}-\d{2}", hint="; write dates like 2026-12-25")),
            "Dates (`YYYY-MM-DD`) that are not working days.",
        ),
    }
)

ORDERS = Record(
    {
        "environments": Field(MapOf(ENVIRONMENT, key=IDENT), "Environments and their defaults."),
        "groups": Field(
            MapOf(ListOf(IDENT), key=IDENT, doc="mapping of name → list of people"),
            "Groups of people, by email: the one list of who answers for a group (a group stored "
            "with an account grants nothing).",
        ),
        "agents": Field(MapOf(AGENT, key=IDENT), "Agents, their owners and charters."),
        "tools": Field(
            MapOf(TOOL, key=IDENT), "Effects of tools no analyzer knows, declared by you."
        ),
        "rules": Field(ListOf(RULE), "Rules, evaluated together; the most restrictive wins."),
        "channels": Field(
            MapOf(CHANNEL, key=IDENT),
            "Where notifications go: rules name them in `notify:`; pauses go to all of them.",
        ),
        "watch": Field(
            ListOf(WATCH_RULE),
            'Watch rules: what "wrong" means in the stream of actions and votes, who is told, '
            "what is paused (docs/watch.md).",
        ),
        "calendar": Field(CALENDAR, "Business hours, for watch rules' `clock.business_hours`."),
    },
    doc="standing orders document",
)


def reference_markdown() -> str:
    """The key reference of ``docs/standing-orders.md``, generated from the schema above.

    ``tests/test_docs.py`` fails when the page differs; ``WATCHKEEPER_UPDATE_DOCS=1`` makes it
    rewrite the page instead.
    """
    lines = ["| key | type | required / default | meaning |", "|---|---|---|---|"]
    for key, kind, need, text in reference(ORDERS):
        lines.append(f"| `{key}` | {kind} | {need} | {text} |")
    return "\n".join(lines) + "\n"

"""Analyzers: what an action really does. See :mod:`watchkeeper.analyzers.registry`."""

from collections.abc import Sequence

from watchkeeper.analyzers import lazy
from watchkeeper.analyzers.agent_tools import AGENT_TOOLS, AgentToolsAnalyzer
from watchkeeper.analyzers.declared import DeclaredToolAnalyzer
from watchkeeper.analyzers.registry import Analyzer, Registry, unknown_effect
from watchkeeper.analyzers.shell import ShellAnalyzer
from watchkeeper.analyzers.terraform import TerraformPlanAnalyzer
from watchkeeper.config import Limits
from watchkeeper.models import Action, Effect


class _Sql:
    """The SQL analyzer, imported with sqlglot when the first statement arrives: a door that
    decides shell commands in a process of its own never pays for a SQL parser."""

    name = "sql"

    def analyze(self, action: Action) -> Sequence[Effect]:
        return lazy.sql_analyzer().analyze(action)


def default_registry(limits: Limits | None = None) -> Registry:
    """A registry with every built-in analyzer registered, within ``limits``.

    Declared tools need no registration: the gateway builds their analyzers from the orders.
    """
    registry = Registry(limits)
    registry.register(_Sql(), tools=SQL_TOOLS)
    registry.register(ShellAnalyzer(), tools=SHELL_TOOLS)
    registry.register(TerraformPlanAnalyzer(), tools=TERRAFORM_TOOLS)
    registry.register(AgentToolsAnalyzer(), tools=AGENT_TOOLS)
    return registry


#: Tool names the shell analyzer reads (Claude Code's ``Bash`` and common MCP names).
SHELL_TOOLS = ("shell", "bash", "Bash", "terminal", "run_command", "execute_command", "exec")
#: Tool names the Terraform analyzer reads (a plan, or a terraform/tofu command).
TERRAFORM_TOOLS = ("terraform", "tofu", "opentofu", "terraform_plan")
#: Tool names the SQL analyzer reads (``sql`` and the names common database MCP servers use).
SQL_TOOLS = ("sql", "query", "execute_sql", "run_sql", "sql_query")


__all__ = [
    "Analyzer",
    "DeclaredToolAnalyzer",
    "Limits",
    "Registry",
    "default_registry",
    "unknown_effect",
]

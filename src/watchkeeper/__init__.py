"""watchkeeper: operational control for AI agents in production.

from watchkeeper import Watchkeeper

wk = Watchkeeper.from_file("watchkeeper.yaml", agent="infra-bot")
decision = wk.check({"tool": "terraform", "input": {"command": "destroy"}, "environment": "prod"})
decision.decision   # 'allow' | 'ask' | 'deny'
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from watchkeeper.decision import ApprovalRequirement, Decision
from watchkeeper.errors import (
    ActionBlocked,
    ActionDenied,
    AnalyzerError,
    ApprovalPending,
    ApprovalRequired,
    InvalidAction,
    Issue,
    OrdersError,
    UsageError,
    WatchkeeperError,
)
from watchkeeper.models import Action, Effect, Intent, Target

if TYPE_CHECKING:
    from watchkeeper.adapters.sdk import Watchkeeper
    from watchkeeper.analyzers import Analyzer, Registry
    from watchkeeper.gateway import Gateway
    from watchkeeper.orders import StandingOrders

#: Imported when first used: the analyzers, the orders' loader and CEL take a good part of a
#: second to import, which a command such as ``watchkeeper approvals list`` never needs.
_LAZY = {
    "Watchkeeper": "watchkeeper.adapters.sdk",
    "Analyzer": "watchkeeper.analyzers",
    "Registry": "watchkeeper.analyzers",
    "Gateway": "watchkeeper.gateway",
    "StandingOrders": "watchkeeper.orders",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


try:
    __version__ = version("watchkeeper")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "Action",
    "ActionBlocked",
    "ActionDenied",
    "Analyzer",
    "AnalyzerError",
    "ApprovalPending",
    "ApprovalRequired",
    "ApprovalRequirement",
    "Decision",
    "Effect",
    "Gateway",
    "Intent",
    "InvalidAction",
    "Issue",
    "OrdersError",
    "Registry",
    "StandingOrders",
    "Target",
    "UsageError",
    "Watchkeeper",
    "WatchkeeperError",
    "__version__",
]

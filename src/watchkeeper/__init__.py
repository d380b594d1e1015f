"""watchkeeper: operational control for AI agents in production.

from watchkeeper import Watchkeeper

wk = Watchkeeper.from_file("watchkeeper.yaml", agent="infra-bot")
decision = wk.check({"tool": "terraform", "input": {"command": "destroy"}, "environment": "prod"})
decision.decision   # 'allow' | 'ask' | 'deny'
"""

from __future__ import annotations

from watchkeeper._version import __version__

TYPE_CHECKING = False  # not typing's: importing typing alone costs a fast command a tenth
if TYPE_CHECKING:
    from typing import Any

    from watchkeeper.adapters.sdk import Watchkeeper
    from watchkeeper.analyzers import Analyzer, Registry
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
    from watchkeeper.gateway import Gateway
    from watchkeeper.models import Action, Effect, Intent, Target
    from watchkeeper.orders import StandingOrders

#: Imported when first used, so that the commands that sit in front of every tool call
#: (``watchkeeper --version``, ``watchkeeper hook``) start as fast as Python does: the models,
#: the analyzers, the orders' loader and CEL take a good part of a second to import.
_LAZY = {
    "Watchkeeper": "watchkeeper.adapters.sdk",
    "Analyzer": "watchkeeper.analyzers",
    "Registry": "watchkeeper.analyzers",
    "Gateway": "watchkeeper.gateway",
    "StandingOrders": "watchkeeper.orders",
    "ApprovalRequirement": "watchkeeper.decision",
    "Decision": "watchkeeper.decision",
    **dict.fromkeys(
        "ActionBlocked ActionDenied AnalyzerError ApprovalPending ApprovalRequired InvalidAction "
        "Issue OrdersError UsageError WatchkeeperError".split(),
        "watchkeeper.errors",
    ),
    **dict.fromkeys(("Action", "Effect", "Intent", "Target"), "watchkeeper.models"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper' has no attribute {name!r}")
    import importlib  # here: the package itself imports nothing it does not need

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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

"""watchkeeper: operational control for AI agents in production.

from watchkeeper import Watchkeeper

wk = Watchkeeper.from_file("watchkeeper.yaml", agent="infra-bot")
decision = wk.check({"tool": "terraform", "input": {"command": "destroy"}, "environment": "prod"})
decision.decision   # 'allow' | 'ask' | 'deny'
"""

from importlib.metadata import PackageNotFoundError, version

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

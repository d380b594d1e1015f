"""Which environment an action is in.

The standing orders declare environments; an action names the one it believes it is in. Only a
declared name is taken: anything else resolves to ``None``, which the evaluator judges under every
declared environment and takes the strictest result, so a typo or a lie never loosens a decision.
Matching targets (accounts, kube contexts, hosts, paths) against ``environments.<name>.match``
belongs here too, and arrives with the analyzers that extract those targets.
"""

from __future__ import annotations

from watchkeeper.models import Action
from watchkeeper.orders.model import StandingOrders


def resolve_environment(orders: StandingOrders, action: Action) -> str | None:
    """The declared environment ``action`` is in, or ``None`` when it cannot be known."""
    claim = action.environment
    if claim is not None and claim in orders.environments:
        return claim
    return None

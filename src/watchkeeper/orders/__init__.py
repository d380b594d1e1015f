"""Standing orders: the policy file, its loader, its evaluation and its tests."""

from watchkeeper.orders.loader import builtin, load, load_text
from watchkeeper.orders.model import StandingOrders

__all__ = ["StandingOrders", "builtin", "load", "load_text"]

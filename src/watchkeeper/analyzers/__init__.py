"""Analyzers: what an action really does. See :mod:`watchkeeper.analyzers.registry`."""

from watchkeeper.analyzers.declared import DeclaredToolAnalyzer
from watchkeeper.analyzers.registry import Analyzer, Limits, Registry, unknown_effect


def default_registry(limits: Limits | None = None) -> Registry:
    """A registry with every built-in analyzer registered, within ``limits``.

    Declared tools need no registration: the gateway builds their analyzers from the orders.
    """
    return Registry(limits)


__all__ = [
    "Analyzer",
    "DeclaredToolAnalyzer",
    "Limits",
    "Registry",
    "default_registry",
    "unknown_effect",
]

"""Adapters connect agents to the gateway: the Python SDK now, hooks and proxies later."""

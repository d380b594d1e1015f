"""The store tests use the ``store_url`` and ``store`` fixtures of ``tests/conftest.py``."""

"""The doors' real server (an agent ``coder``, alice in group ``sre``) for the framework guards'
conformance table."""

from tests.doors.conftest import server

__all__ = ["server"]

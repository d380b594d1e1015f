"""Doors for agents that call hooks: ``watchkeeper hook claude-code`` (see
:mod:`watchkeeper.hooks.command`). Everything here starts with the standard library only; the
analyzers are imported when a hook decides in process."""

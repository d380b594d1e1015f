"""What a tool's own server declares of it: MCP tool annotations, carried by the MCP gateway as
``context.mcp.annotations``. A hint can only make a decision stricter: a tool its server calls
destructive gains an effect nobody can undo; a read-only hint takes nothing away (a server that
calls ``git_reset`` read-only changes nothing the analyzers and declarations found). A tool its
server did not list is treated as one it declared destructive.

    hinted(action)   # [Effect(verb='unknown', reversible='no', …)] for destructiveHint: true
"""

from __future__ import annotations

from watchkeeper.models import Action, Effect


def hinted(action: Action) -> list[Effect]:
    """The effects the action's declared annotations add: at most one."""
    mcp = action.context.get("mcp")
    hints = mcp.get("annotations") if isinstance(mcp, dict) else None
    if not isinstance(hints, dict):
        return []
    if hints.get("unlisted") is True:
        why = "its server did not list it (or could not be asked): it could do anything"
    elif hints.get("destructiveHint") is not True:
        return []
    elif hints.get("readOnlyHint") is True:  # contradictory: the stricter reading is kept
        why = "its server calls it both read-only and destructive; destructive is believed"
    else:
        why = "its server declares it destructive (destructiveHint)"
    return [Effect.of("mcp", "unknown", "unknown", action.tool, reversible="no", declared=why)]

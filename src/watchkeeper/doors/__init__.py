"""Doors: the ways agents reach watchkeeper without writing code against it.

    hook.py         ``watchkeeper hook claude-code``: Claude Code's command hook
    shell.py        ``watchkeeper sh -c`` and ``watchkeeper exec --``: a shell that asks first
    gate.py         what every door shares: decide (in process or on a server), wait, park
    claude_code.py  Claude Code's events and answers
    client.py       a standard-library client of the server
    install.py      the hook into Claude Code's settings, and out

Everything here starts with the standard library only; the analyzers are imported when a door
decides in process.
"""

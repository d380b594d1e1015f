"""Background work inside ``serve``: a callable run every few seconds in a thread of its own.

    scheduler = Every(1.0, approvals.tick, name="approvals")   # escalations and expiries
    ...
    scheduler.close()

Several replicas may run the same work: what it does must be safe to do twice (the approval
machine's changes are compare-and-set). An error is logged and the next round tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from watchkeeper.errors import describe

log = logging.getLogger("watchkeeper.workers")


class Every:
    """Run ``work`` every ``seconds`` until closed."""

    def __init__(self, seconds: float, work: Callable[[], Any], name: str) -> None:
        self.seconds, self.work, self.name = seconds, work, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.work()
            except Exception as exc:  # the database went away: the next round tries again
                log.warning("%s: %s", self.name, describe(exc))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)

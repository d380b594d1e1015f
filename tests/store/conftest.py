"""The store tests use the ``store_url`` and ``store`` fixtures of ``tests/conftest.py``."""

from pathlib import Path

import watchkeeper.store.database

#: The newest migration shipped: what ``db upgrade`` must reach.
HEAD = max(
    p.name.split("_")[0]
    for p in (Path(watchkeeper.store.database.__file__).parent / "migrations" / "versions").glob(
        "0*.py"
    )
)

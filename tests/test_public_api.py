"""The public API is exactly ``watchkeeper.__all__``, sorted, every name importable."""

from __future__ import annotations

import watchkeeper


def test_all_is_sorted() -> None:
    assert watchkeeper.__all__ == sorted(watchkeeper.__all__)


def test_every_public_name_exists() -> None:
    missing = [name for name in watchkeeper.__all__ if not hasattr(watchkeeper, name)]
    assert not missing


def test_no_public_name_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(watchkeeper).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("watchkeeper")
    }
    assert public <= set(watchkeeper.__all__), public - set(watchkeeper.__all__)


def test_version_is_the_installed_version() -> None:
    from importlib.metadata import version

    assert watchkeeper.__version__ == version("watchkeeper")

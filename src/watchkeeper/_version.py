"""The version, as a constant: the package metadata takes longer to read than the command
that prints it (``watchkeeper --version``), and ``pyproject.toml`` reads its version here."""

__version__ = "0.1.0"

"""The package version, in one place (read by ``pyproject.toml`` and written into every file symmol saves)."""

__version__ = "0.1.0"

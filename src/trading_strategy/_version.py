"""The package version (its own module: low layers read it without importing the API)."""

__version__ = "0.1.0"

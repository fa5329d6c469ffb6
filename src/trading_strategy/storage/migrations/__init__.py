"""Alembic migrations, shipped in the package and run by :mod:`trading_strategy.storage.migrate`.

A package (with ``__init__.py``) so that setuptools ships the ``.py`` files with the
wheel; only ``script.py.mako`` needs a package-data entry.
"""

"""The web app: a REST API, a live event stream and pages over runs and paper sessions.

It attaches to sessions through the database and the sessions' own files; it never drives
a session, so a session need not be started by it and its crash never touches one.
"""

from trading_strategy.web.app import create_app

__all__ = ["create_app"]

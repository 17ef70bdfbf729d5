"""The web app's database: one engine per app, one session per request, closed when the request ends.

Engines and sessions themselves are made in `portal.database`, which knows nothing of Flask.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from portal.database import make_engine, make_session_factory


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["portal.sessions"]()
    return g.db_session


def _close_session(_exception: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)

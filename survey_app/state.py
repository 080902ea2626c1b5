"""What one web app holds beside its configuration: the database engine and the objects
built on it, typed, set up by :func:`init_app` (Flask's extension pattern).

Configuration stays in ``app.config`` (``Config`` defaults, ``CSI_*`` variables, the
mapping given to ``create_app``); this is what is *made* from it, once per app. Views read
it with :func:`current_state`, commands and tests holding an app with :func:`state_of`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import Engine

if TYPE_CHECKING:
    from .jobs import Queue
    from .responses import RespondentService

_KEY = "csi"  # this app's entry in ``app.extensions``


@dataclass
class AppState:
    url: str                        # the database URL the engine was made from
    engine: Engine
    service: RespondentService          # the respondent pages' database operations (and their caches)
    queue: Queue | None = None      # the job queue, made on first use (``jobs.queue_of_app``)


def init_app(app: Flask) -> AppState:
    """Make the engine from ``DATABASE_URL`` (default: a SQLite file in the instance folder)
    and ``DATABASE_POOL_SIZE``, migrate it when ``AUTO_MIGRATE``, and attach the state."""
    from models.storage import default_url, make_engine, upgrade

    from .responses import RespondentService

    config = app.config
    url = config.get("DATABASE_URL") or default_url(app.instance_path)
    pool_size = config.get("DATABASE_POOL_SIZE")
    engine = make_engine(url, **({"pool_size": int(pool_size)} if pool_size else {}))
    if config.get("AUTO_MIGRATE"):
        upgrade(engine)
    state = AppState(url=url, engine=engine, service=RespondentService(engine))
    app.extensions[_KEY] = state
    return state


def state_of(app: Flask) -> AppState:
    return app.extensions[_KEY]


def current_state() -> AppState:
    """The state of the app handling the current request or command."""
    return current_app.extensions[_KEY]

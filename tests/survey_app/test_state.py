"""What one app makes from its configuration (survey_app/state.py): one engine on the
configured database, the respondent service on that engine, one queue made on first use;
two apps share none of it."""
import re
from pathlib import Path

from flask import Flask

from survey_app import create_app
from survey_app.jobs import queue_of_app
from survey_app.responses import RespondentService
from survey_app.state import AppState, current_state, state_of


def test_state_is_built_from_the_configuration_and_cached(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "AUTO_MIGRATE": True, "QUEUE_FILE": str(tmp_path / "queue.sqlite3"),
                      "SECRET_KEY": "state"})
    state = state_of(app)
    assert isinstance(state, AppState) and state.url == url
    assert Path(state.engine.url.database) == tmp_path / "one.sqlite3"
    assert isinstance(state.service, RespondentService) and state.service.engine is state.engine
    assert state.queue is None, "the queue is made on first use, not at start-up"
    queue = queue_of_app(app)
    assert queue is state.queue and queue_of_app(app) is queue, "made once per app"
    assert queue.filename == str(tmp_path / "queue.sqlite3")
    with app.app_context():
        assert current_state() is state
    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'two.sqlite3'}", "AUTO_MIGRATE": True,
                        "SECRET_KEY": "state"})
    assert state_of(other).engine is not state.engine and state_of(other).service is not state.service
    state.engine.dispose()
    state_of(other).engine.dispose()


def _start_app(arguments) -> str:
    """In a forked process: wait for the others, start an app, return its secret key."""
    together, folder, n = arguments
    together.wait()
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / f'{n}.sqlite3'}"})
    state_of(app).engine.dispose()
    return app.secret_key


def test_apps_starting_at_once_share_one_complete_secret_key(tmp_path, monkeypatch):
    """Apps started together on a fresh instance folder without a configured key (server
    workers, parallel test workers) all sign with the one key made there: never an empty or
    half-written key, never an error because another made the file first. Each app in its
    own process, as server workers are (threads building apps at once also trip CPython
    3.11's shared AST recursion counter in werkzeug's route compiler: a SystemError)."""
    import multiprocessing as mp
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    context = mp.get_context("fork")  # the children inherit the patched instance folder
    with context.Manager() as manager:
        together = manager.Barrier(6)
        with context.Pool(6) as pool:
            keys = set(pool.map(_start_app, [(together, tmp_path, n) for n in range(6)]))
    stored = (tmp_path / "instance" / "secret_key").read_text()
    assert keys == {stored} and re.fullmatch(r"[0-9a-f]{64}", stored)
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == ["secret_key"]  # no drafts left

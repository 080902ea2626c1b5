"""Production serving: granian (an HTTP server written in Rust, WSGI interface) by default,
waitress (pure Python) on request.

Granian parses HTTP and keeps connections outside the interpreter, so the Python threads
only run the app: against gunicorn's gthread workers it stored more page submissions per
second for less server CPU, with a shorter latency tail (docs/benchmarks.md, round 4). ``CSI_SERVER=waitress`` (or ``server=``) picks waitress, which needs
nothing compiled.

Each worker process builds its own app, and so its own database engine, from the
environment (``app_from_environment``): connections are never shared between processes.
"""
from __future__ import annotations

import gc
import os

SERVERS = ("granian", "waitress")


def settled(app):
    """``app``, with everything built so far set aside from the garbage collector.

    A server process holds about 95,000 objects once the app is built (Flask, SQLAlchemy,
    Alembic, Jinja), and a full collection, which Python runs now and then as objects
    survive, walks them all with the GIL held, a stall for every request in that process
    (docs/benchmarks.md, round 6). ``gc.freeze()`` moves them to a generation that is never
    collected (they live as long as the process anyway), so a full collection walks only
    what requests left behind. Only for a serving process: objects frozen stay in memory.
    """
    gc.collect()
    gc.freeze()
    return app


def port_problem(host: str, port: int) -> str | None:
    """Why ``csi serve`` cannot listen on ``host:port``, or None.

    Granian listens with SO_REUSEPORT, so a second instance on a port already in use starts
    without complaint and the kernel shares the connections between the two (serving
    respondents from two databases). A plain socket, without SO_REUSEPORT, cannot bind a
    port someone listens on, whatever options the listener set. SO_REUSEADDR keeps the
    connections a stopped server left in TIME_WAIT from counting as "in use".
    """
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (another csi serve?); choose another with --port"
            return f"cannot listen on {host} port {port}: {exc.strerror}"
    return None


def read_only_problem(engine) -> str | None:
    """Why the database refuses writes, or None: a write that changes nothing, rolled back.

    Catches what file permissions alone do not show: a read-only mount or SQLite URL, an
    immutable file, a PostgreSQL database or standby in read-only mode.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            with connection.begin() as transaction:
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
                transaction.rollback()
    except DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines()
        return lines[0] if lines else exc.orig.__class__.__name__
    return None


def run(database_url: str, host: str, port: int, workers: int = 1, threads: int = 2,
        server: str | None = None) -> None:
    server = server or os.environ.get("CSI_SERVER") or "granian"
    if server not in SERVERS:
        raise ValueError(f"CSI_SERVER={server!r}: choose one of {', '.join(SERVERS)}")
    if server == "waitress":
        import waitress

        from . import create_app
        waitress.serve(settled(create_app({"DATABASE_URL": database_url, "DATABASE_POOL_SIZE": threads})), host=host,
                       port=port, threads=threads, ident="csi", clear_untrusted_proxy_headers=True)
        return
    from granian import Granian
    from granian.constants import Interfaces

    os.environ["CSI_SERVE_DATABASE_URL"] = database_url
    os.environ["CSI_SERVE_THREADS"] = str(threads)
    # blocking_threads: the Python threads that run the app (granian's own default for WSGI
    # is hundreds); requests beyond them wait in granian's queue, not in the interpreter.
    Granian("survey_app.server:app_from_environment", factory=True, address=host, port=port,
            interface=Interfaces.WSGI, workers=workers, blocking_threads=threads,
            respawn_failed_workers=True, workers_kill_timeout=10, log_access=False).serve()


def app_from_environment():
    """The app of one server process (granian's factory target)."""
    from . import create_app

    threads = int(os.environ["CSI_SERVE_THREADS"])
    return settled(create_app({"DATABASE_URL": os.environ["CSI_SERVE_DATABASE_URL"], "DATABASE_POOL_SIZE": threads}))

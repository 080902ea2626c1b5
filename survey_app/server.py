"""Production serving: gunicorn (gthread workers) on POSIX, waitress on Windows.

Gunicorn serves even a single process: under 200 concurrent connections waitress spent
about 40 % more CPU per page submission and let some requests wait 12 s (p99), gunicorn
1.5 s (docs/benchmarks.md). ``CSI_SERVER=waitress`` (or ``server=``) picks waitress anyway.

Each gunicorn worker builds its own app, and so its own database engine, after the fork:
connections must never be shared between processes.
"""
from __future__ import annotations

import os
import sys


def run(database_url: str, host: str, port: int, workers: int = 1, threads: int = 4,
        server: str | None = None) -> None:
    server = server or os.environ.get("CSI_SERVER") or ("waitress" if sys.platform == "win32" else "gunicorn")
    if server == "waitress":
        import waitress

        from . import create_app
        waitress.serve(create_app({"DATABASE_URL": database_url, "DATABASE_POOL_SIZE": threads}), host=host, port=port, threads=threads,
                       ident="csi", clear_untrusted_proxy_headers=True)
        return
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        def load_config(self):
            settings = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                        "preload_app": False, "accesslog": None, "graceful_timeout": 10, "timeout": 60,
                        "keepalive": 5, "proc_name": "csi"}
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            from . import create_app
            return create_app({"DATABASE_URL": database_url, "DATABASE_POOL_SIZE": threads})

    Gunicorn().run()

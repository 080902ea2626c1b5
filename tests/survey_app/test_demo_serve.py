"""`csi demo` as a user runs it: it serves the survey while the waves' analyses and
reports are computed by its worker process in the background, prints the results when
they are stored, and stops its worker when it stops."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

from models.storage import make_engine
from models.storage import jobs as job_store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except OSError:
        return 0


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_demo_serves_while_its_worker_computes_the_analyses_and_reports(tmp_path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env = dict(os.environ, CSI_QUEUE_NAME=f"demo-{uuid.uuid4().hex[:8]}", CSI_SERVER="waitress")
    env.pop("CSI_REDIS_URL", None)
    log = open(tmp_path / "demo.log", "w+")
    demo = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "demo", "--database", url, "--port", str(port),
                             "--respondents", "60", "--boot", "20", "--perm", "19"], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/s/acsi-retail/2026Q4") == 200, 180,
                 "the survey page")
        engine = make_engine(url)
        wait_for(lambda: job_store.list_jobs(engine) and all(j.status in ("done", "failed")
                                                          for j in job_store.list_jobs(engine)), 600, "the demo's jobs")
        jobs = job_store.list_jobs(engine, limit=100)
        assert [j.status for j in jobs] == ["done"] * 15, [(j.id, j.kind, j.status, j.error) for j in jobs]
        assert jobs[-1].kind == "demo_responses" and jobs[-1].output == {"waves": 10, "respondents": 60}
        workers = {j.worker for j in jobs}
        assert len(workers) == 1  # one worker process beside the server ran them all
        worker_pid = int(next(iter(workers)).rsplit(":", 1)[1])
        assert worker_pid != demo.pid
        reports = sorted(p.name for p in (tmp_path / "instance" / "reports").iterdir())
        assert reports == ["acsi-retail-2026Q4-en.html", "acsi-retail-2026Q4-zh-CN.html",
                           "ccsi-mobile-2026Q4-en.html", "ccsi-mobile-2026Q4-zh-CN.html"]
        wait_for(lambda: log.seek(0) == 0 and log.read().count("report: ") == 4, 30, "the printed results")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    log.seek(0)
    output = log.read()
    assert re.search(r"satisfaction +(\d+\.\d +){5}\[\d", output), output  # five waves and an interval
    assert "(20 resamples, seed" in output
    # The demo's worker stopped with it.
    wait_for(lambda: not os.path.exists(f"/proc/{worker_pid}") or
             open(f"/proc/{worker_pid}/stat").read().split()[2] == "Z", 30, "the worker to stop")

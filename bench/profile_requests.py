"""CPU per request of the respondent path, measured in process (no HTTP, no client noise).

    python bench/profile_requests.py [--respondents 300] [--backend postgresql|sqlite] [--cprofile out.prof]

Drives the app's WSGI callable with Werkzeug's test client through whole surveys (landing,
start, every page, thank-you) and sums ``time.process_time`` spent inside ``app.wsgi_app``
by endpoint and method, so the client's own work is not counted. Prints ms per request and
per page submission; with --cprofile, writes a profile of the server side only.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from bench.loadgen import ACTION, CSRF, QUESTION, SUBMISSION, answer_value  # noqa: E402
from models import load_questionnaire  # noqa: E402
from models.storage import create_wave, register_questionnaire  # noqa: E402
from models.storage.db import scratch_postgres_database  # noqa: E402
from survey_app.state import state_of  # noqa: E402

SURVEY, WAVE = "acsi-retail", "2026Q4"


def build_app(url: str):
    from sqlalchemy.orm import Session

    from survey_app import create_app
    app = create_app({"DATABASE_URL": url, "AUTO_MIGRATE": True, "SECRET_KEY": "profile"})
    with Session(state_of(app).engine) as session:
        create_wave(session, register_questionnaire(session, load_questionnaire(questionnaires.path("acsi_retail"))),
                    WAVE)
        session.commit()
    return app


class Meter:
    """Wraps the WSGI callable; CPU seconds per (method, endpoint kind)."""

    def __init__(self, app, profiler: cProfile.Profile | None):
        self.inner, self.profiler = app.wsgi_app, profiler
        self.cpu: dict[str, list[float]] = defaultdict(list)
        app.wsgi_app = self

    def __call__(self, environ, start_response):
        kind = re.sub(r"/s/[^/]+/[^/]+", "", environ["PATH_INFO"]) or "/"
        kind = re.sub(r"/p/\d+", "/p/N", kind)
        if self.profiler:
            self.profiler.enable()
        started = time.process_time()
        body = b"".join(self.inner(environ, start_response))
        self.cpu[f"{environ['REQUEST_METHOD']} {kind or '/'}"].append(time.process_time() - started)
        if self.profiler:
            self.profiler.disable()
        return [body]


def one_respondent(client, questionnaire, number: int) -> int:
    import random
    rng = random.Random(number)
    base = f"/s/{SURVEY}/{WAVE}"

    def follow(response):
        while response.status_code in (302, 303):
            response = client.get(response.headers["Location"])
        return response

    page = follow(client.get(base))
    page = follow(client.post(f"{base}/start", data={"csrf_token": CSRF.search(page.text).group(1)}))
    posts = 0
    while "Thank" not in page.text and "谢谢" not in page.text:
        text = page.text
        data = {"csrf_token": CSRF.search(text).group(1), "submission_id": SUBMISSION.search(text).group(1),
                "nav": "next"}
        for qid in QUESTION.findall(text):
            value = answer_value(questionnaire.question(qid), rng)
            if value not in ("", []):
                data[qid] = value
        page = follow(client.post(ACTION.search(text).group(1), data=data))
        posts += 1
    return posts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=300)
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--cprofile")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.backend == "sqlite":
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/profile.sqlite3"
        else:
            url = stack.enter_context(scratch_postgres_database(
                os.environ.get("CSI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"), "csi_prof"))
        app = build_app(url)
        questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
        for warmup in range(5):
            one_respondent(app.test_client(), questionnaire, -1 - warmup)
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not waiting
        meter = Meter(app, profiler)
        from bench.load_survey import cpu_by_role
        postgres_before = cpu_by_role(None)["postgres"]
        posts = sum(one_respondent(app.test_client(), questionnaire, n) for n in range(args.respondents))
        postgres = cpu_by_role(None)["postgres"] - postgres_before  # all PostgreSQL processes, this run only
        state_of(app).engine.dispose()
    total = sum(sum(v) for v in meter.cpu.values())
    requests = sum(len(v) for v in meter.cpu.values())
    print(f"{args.backend}: {args.respondents} respondents, {posts} page submissions, {requests} requests")
    print(f"{'request':<22} {'count':>6} {'median ms':>10} {'mean ms':>8} {'share':>6}")
    for key, values in sorted(meter.cpu.items(), key=lambda kv: -sum(kv[1])):
        print(f"{key:<22} {len(values):>6} {statistics.median(values) * 1000:>10.2f} "
              f"{statistics.fmean(values) * 1000:>8.2f} {sum(values) / total:>6.1%}")
    print(f"server CPU per request {total / requests * 1000:.2f} ms, per page submission {total / posts * 1000:.2f} ms "
          f"({requests / posts:.2f} requests per submission)")
    if args.backend == "postgresql":
        print(f"PostgreSQL CPU per page submission {postgres / posts * 1000:.2f} ms (all its processes)")
    if profiler:
        profiler.dump_stats(args.cprofile)


if __name__ == "__main__":
    main()

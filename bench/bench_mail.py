"""E-mail sending throughput: N invitations imported, composed (both languages) and sent to a
real SMTP server on loopback (aiosmtpd), one connection, no rate limit; median of runs.
What it shows: how long a wave's invitations take on this machine when the SMTP relay is
not the bottleneck (a real relay's own limit, CSI_MAIL_RATE, usually is).

    python bench/bench_mail.py [--invitees 2000] [--runs 3]
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from models import load_questionnaire  # noqa: E402
from models.storage import create_wave, make_engine, register_questionnaire, upgrade  # noqa: E402
from models.storage.invitations import import_email_invitations  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from survey_app.mailer import MailSettings, send_round  # noqa: E402


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def run_once(invitees: int, port: int) -> tuple[float, float]:
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
        upgrade(engine)
        with Session(engine) as session:
            wave = create_wave(session, register_questionnaire(session, questionnaire), "2026Q4")
            rows = [{"email": f"customer{i}@example.com", "language": "zh-CN" if i % 2 else "en", "name": f"C{i}"}
                    for i in range(invitees)]
            started = time.perf_counter()
            import_email_invitations(session, wave, rows, "k" * 40, languages=questionnaire.languages,
                                     default_language=questionnaire.default_language)
            session.commit()
            imported = time.perf_counter() - started
            settings = MailSettings(host="127.0.0.1", port=port, sender="survey@example.com",
                                    base_url="https://survey.example", secret="k" * 40, rate=0)
            started = time.perf_counter()
            result = send_round(session, wave, questionnaire, settings, "invitation")
            sent = time.perf_counter() - started
        engine.dispose()
    assert result.sent == invitees, result.line()
    return imported, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitees", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        runs = [run_once(args.invitees, port) for _ in range(args.runs)]
    finally:
        controller.stop()
    imported = statistics.median(r[0] for r in runs)
    sent = statistics.median(r[1] for r in runs)
    print(f"{args.invitees} invitees: import {imported:.2f} s ({args.invitees / imported:,.0f}/s), "
          f"send {sent:.2f} s ({args.invitees / sent:,.0f} messages/s), median of {args.runs}")


if __name__ == "__main__":
    main()

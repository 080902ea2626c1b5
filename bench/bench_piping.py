"""Cost of piping on a page view: a piped question's markup is built per respondent (never
cached, survey_app/question_markup.py), a plain one is read from the cache.

    python bench/bench_piping.py [--views 20000]

Times ``question_html`` for the shared test questionnaire's questions (tests/hidden_questionnaire.py):
a cached rating (no piping, after the first view), the piped rating (hidden store and note),
the piped text question and the piped choice question (an earlier answer in an option
label). Prints a Markdown table of microseconds per question view (median of 5 runs); paste
it into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.hidden import with_hidden  # noqa: E402
from models.questionnaire import parse_questionnaire  # noqa: E402
from survey_app.question_markup import question_html  # noqa: E402
from tests.hidden_questionnaire import HIDDEN_YAML  # noqa: E402


def per_view(views: int, questionnaire, question, answers) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(views):
            question_html(questionnaire, question, "zh-CN", "3", None, answers=answers)
        runs.append((time.perf_counter() - start) / views * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=20000)
    args = parser.parse_args()
    q = parse_questionnaire(HIDDEN_YAML, "hidden.yaml")
    plain = parse_questionnaire(HIDDEN_YAML.replace("{hidden.store|我们的门店}", "我们的门店")
                                .replace("{hidden.store|our store}", "our store")
                                .replace("{hidden.note}", "-"), "plain.yaml")
    answers = with_hidden({"overall": 3, "fruit": "a"}, {"store": "S12", "note": "<b>hello</b>", "channel": "app"})
    rows = [("rating, cached (no piping)", per_view(args.views, plain, plain.question("overall"), answers)),
            ("rating, piped (hidden store and note)", per_view(args.views, q, q.question("overall"), answers)),
            ("text, piped (two earlier answers)", per_view(args.views, q, q.question("why"), answers)),
            ("single choice, piped option label", per_view(args.views, q, q.question("app_only"), answers))]
    print("| question view | µs per view |\n|---|---|")
    for name, micros in rows:
        print(f"| {name} | {micros:.1f} |")


if __name__ == "__main__":
    main()

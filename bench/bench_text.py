"""Speed of open-text analysis at the issue's size: 100,000 answers, half Chinese, half
English (some mixed, some empty), sentiment for each and k themes by NMF, from a CSV file
through ``csi text`` and through the Python API.

    python bench/bench_text.py [--n 100000] [--k 8]

Answers are built from the hand-labelled test sentences (tests/data/text), two or three per
answer, so they are 10-60 characters like real survey answers; 2 % are empty and 1 % are
emoji only. Prints a Markdown table (wall clock, one run; the machine is 2 shared cores);
paste it into docs/benchmarks.md. Target (issue 20): under 30 s.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.text import SentimentScorer, ThemeModel, Tokenizer  # noqa: E402
from analysis.text.batch import segment_and_score  # noqa: E402

DATA = ROOT / "tests" / "data" / "text"


def answers(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    pools = {}
    for lang in ("zh", "en"):
        with open(DATA / f"{lang}_labelled.csv", encoding="utf-8", newline="") as f:
            pools[lang] = [r["text"] for r in csv.DictReader(f)]
    out = []
    for i in range(n):
        u = rng.random()
        if u < 0.02:
            out.append("")
        elif u < 0.03:
            out.append("😀👍" if u < 0.025 else "😠")
        else:
            lang = "zh" if rng.random() < 0.5 else "en"
            parts = list(rng.choice(pools[lang], size=int(rng.integers(1, 4))))
            if rng.random() < 0.05:  # mixed-language answer
                parts.append(str(rng.choice(pools["en" if lang == "zh" else "zh"])))
            out.append(" ".join(parts))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    texts = answers(args.n)
    chars = sum(len(t) for t in texts)
    rows = []

    tokenizer = Tokenizer()
    start = time.perf_counter()
    tokenizer.words("预热")  # jieba's dictionary load, once per process
    rows.append(("jieba dictionary load (once per process)", time.perf_counter() - start))

    scorer = SentimentScorer("auto", tokenizer=tokenizer)
    start, cpu = time.perf_counter(), time.process_time()
    _, serial = segment_and_score(texts[:10_000], scorer=scorer, processes=1)
    rows.append(("segmentation + sentiment, 10,000 answers, 1 process (CPU time)",
                 time.process_time() - cpu))

    start = time.perf_counter()
    tokens, results = segment_and_score(texts, scorer=scorer)
    rows.append((f"segmentation + sentiment, {args.n:,} answers, {os.cpu_count()} processes",
                 time.perf_counter() - start))
    assert results[:10_000] == serial  # the pool changes nothing but the time

    start = time.perf_counter()
    themes = ThemeModel(k=args.k, tokenizer=tokenizer, random_state=0).fit(texts, tokens=tokens)
    rows.append((f"themes (TF-IDF + NMF, k={args.k}) on those tokens", time.perf_counter() - start))
    rows.append(("API total (segmentation, sentiment, themes)", rows[2][1] + rows[3][1]))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["answer"])
            writer.writerows([t] for t in texts)
        for command, extra in (("sentiment", []), ("themes", ["--k", str(args.k)])):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "survey_app.cli", "text", command, str(path), "--column", "answer",
                            "--json", *extra], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            rows.append((f"`csi text {command} --json` (new process, CSV in, JSON out)", time.perf_counter() - start))

    labels = [r.sentiment for r in results]
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{args.n:,} answers, {chars:,} characters; "
          + ", ".join(f"{lab} {labels.count(lab) / len(labels):.1%}" for lab in ("negative", "neutral", "positive")))
    print(themes.summary().splitlines()[0])
    print("\n| step | time |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} s |")


if __name__ == "__main__":
    main()

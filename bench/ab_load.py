"""Interleaved A/B of the survey server under load: two commits, same load, alternating.

    python bench/ab_load.py BASE [HEAD] [--rounds 3] [--respondents 2000] [--concurrency 200]
                            [--backend postgresql] [--workers 2] [--think 0] [--clients 2]

Each commit is checked out into a temporary git worktree and served from there by `csi
serve`; the load generator, the integrity check and the accounting are this checkout's
(bench/load_survey.py), so both sides are measured identically. Runs alternate A, B, A, B,
... on fresh databases, because this machine's speed drifts by tens of percent within
minutes; the medians and the per-round ratios are what to read.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load_survey  # noqa: E402


def worktree(revision: str, folder: Path) -> Path:
    path = folder / revision.replace("/", "_")
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), revision], cwd=ROOT, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("head", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--respondents", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.0)
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {args.base: [], args.head: []}
    with tempfile.TemporaryDirectory() as folder, ExitStack() as cleanup:
        trees = {}
        for revision in (args.base, args.head):
            trees[revision] = worktree(revision, Path(folder))
            cleanup.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(trees[revision])],
                             cwd=ROOT, check=False)
        for round_number in range(args.rounds):
            for revision in (args.base, args.head):
                load_survey.ROOT = trees[revision]  # `csi serve` runs from that commit's tree
                with ExitStack() as stack:
                    url = load_survey.database(args.backend, folder, stack)
                    r = load_survey.run(url, args.workers, args.threads, args.respondents, args.concurrency,
                                        seconds=600, think=args.think, clients=args.clients)
                results[revision].append(r)
                print(f"round {round_number + 1} {revision:>10}: {r['submissions_per_s']:6.1f} stored page "
                      f"submissions/s, POST p50/p99 {r['post_p50']:.0f}/{r['post_p99']:.0f} ms, CPU ms per "
                      f"submission server {r['cpu_ms']['server']:.1f} PostgreSQL {r['cpu_ms']['postgres']:.1f} "
                      f"client {r['cpu_ms']['client']:.1f}, stolen {r['stolen_share']:.1%}, "
                      f"{'ok' if not r['problems'] else '; '.join(r['problems'])}", flush=True)
    base, head = results[args.base], results[args.head]
    ratios = [h["submissions_per_s"] / b["submissions_per_s"] for b, h in zip(base, head)]
    for name, runs in ((args.base, base), (args.head, head)):
        print(f"{name}: median {statistics.median(r['submissions_per_s'] for r in runs):.1f} stored page "
              f"submissions/s, server CPU {statistics.median(r['cpu_ms']['server'] for r in runs):.2f} ms per "
              f"submission, PostgreSQL {statistics.median(r['cpu_ms']['postgres'] for r in runs):.2f} ms")
    print(f"throughput ratio {args.head}/{args.base} per round: {', '.join(f'{x:.2f}' for x in ratios)} "
          f"(median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()

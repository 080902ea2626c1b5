"""Instructions the respondent path executes, counted by valgrind: a cost measure that the
machine's noise does not move.

    python bench/instructions.py [REV ...] [--respondents 10,40]

Wall-clock and CPU-time figures on these shared 2-core machines drift by tens of percent
within minutes, so a 10 % change in the app cannot be seen in them without many
alternating runs. Valgrind's callgrind counts the instructions a process executes
instead, the same count on a busy machine as on an idle one. For each revision (a git
revision, checked out into a temporary worktree, or "." for the working tree as it is),
bench/profile_requests.py runs under callgrind twice, with the two respondent counts
given; the difference divided by the difference in respondents is the cost of one
respondent (landing page, start, 7 page posts, thank-you page) with start-up and
warm-up subtracted. The runs go two at a time (two cores). PostgreSQL's own work is in
its server processes and is not counted: this measures the app's side only.

Needs valgrind (Debian's package) and the PostgreSQL server that profile_requests.py uses.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTS_PER_RESPONDENT = 7


def instructions(tree: Path, respondents: int, folder: Path) -> int:
    """Instructions executed by ``profile_requests.py --respondents N`` run from ``tree``."""
    out = folder / f"callgrind-{tree.name}-{respondents}.out"
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                          "bench/profile_requests.py", "--respondents", str(respondents)],
                         cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:  # e.g. an old revision that needs a package this environment lacks
        raise RuntimeError(f"{tree.name}, {respondents} respondents: exit {run.returncode}\n{run.stderr[-2000:]}")
    return int(re.search(r"^summary: (\d+)", out.read_text(), re.M).group(1))


def tree_of(revision: str, folder: Path, cleanup: ExitStack) -> Path:
    if revision == ".":
        return ROOT
    path = folder / re.sub(r"[^A-Za-z0-9_.-]", "_", revision)
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), revision], cwd=ROOT, check=True)
    cleanup.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("revisions", nargs="*", default=["."])
    parser.add_argument("--respondents", default="10,40", help="the two respondent counts to difference")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    low, high = map(int, args.respondents.split(","))
    with tempfile.TemporaryDirectory() as name, ExitStack() as cleanup:
        folder = Path(name)
        trees = {revision: tree_of(revision, folder, cleanup) for revision in args.revisions}
        jobs = [(revision, n) for revision in args.revisions for n in (low, high)]
        print(f"callgrind, {len(jobs)} runs of bench/profile_requests.py, two at a time ...", flush=True)
        with ThreadPoolExecutor(2) as pool:
            counts = dict(zip(jobs, pool.map(lambda job: instructions(trees[job[0]], job[1], folder), jobs)))
    print(f"\n| revision | instructions per respondent | per page submission (respondent / {POSTS_PER_RESPONDENT}) "
          f"| ratio to the first |\n|---|---|---|---|")
    first = None
    for revision in args.revisions:
        per_respondent = (counts[(revision, high)] - counts[(revision, low)]) / (high - low)
        first = first or per_respondent
        print(f"| {revision} | {per_respondent / 1e6:.2f} M | {per_respondent / POSTS_PER_RESPONDENT / 1e6:.2f} M | "
              f"{per_respondent / first:.3f} |")


if __name__ == "__main__":
    main()

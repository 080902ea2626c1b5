"""Speed of the quarterly report: `csi report` end to end, the import it starts with, and the
resampled covariance matrices behind every bootstrap and permutation.

    python bench/bench_report.py --database sqlite:///instance/csi.sqlite3 [--tree DIR] [--repeats 3]

The database is the demo's (`csi demo --no-serve --no-reports`: five waves of 400). ``--tree``
runs the same measurements on another checkout (e.g. `git archive <commit> | tar -x -C DIR`),
so a before/after pair comes from one script on one machine. Prints medians as a Markdown
table for docs/benchmarks.md. Measures (medians of ``--repeats`` runs, each in a new process):

1. `csi report --survey acsi-retail --wave 2026Q4` (1,000 resamples and permutations, five
   waves, segments), wall time from process start to the HTML written;
2. `import analysis.report` in a fresh interpreter;
(1 and 2 as wall time and as the child's CPU time, user + system);
3. one bootstrap chunk's moments (250 resamples of 400 x 21) through einsum and through the
   BLAS product of ``analysis.statistics`` (in this process, one BLAS thread, 21 repeats).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _timed(command: list[str], cwd: Path, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the command's process. On a
    shared machine the wall time includes waiting for a core; the CPU time does not."""
    import resource

    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=900)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def moments_speed() -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    from analysis import statistics as st

    rng = np.random.default_rng(1)
    n, p, size = 400, 21, 250
    X = rng.integers(1, 11, size=(n, p)).astype(float)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=size).astype(float)
    Xc = X - X.mean(axis=0)

    def einsum():
        return np.einsum("bn,np,nq->bpq", counts, Xc, Xc, optimize=True)

    def blas():
        return st._weighted_cross_products(counts, Xc)

    from threadpoolctl import threadpool_limits

    assert np.allclose(einsum(), blas(), rtol=0, atol=1e-9)
    out = []
    with threadpool_limits(1, user_api="blas"):  # as the bootstrap runs it (analysis.bootstrap._evaluate)
        for function in (einsum, blas):
            times = []
            for _ in range(21):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
            out.append(statistics.median(times))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory() as folder:
        report = _timed([sys.executable, "-m", "survey_app.cli", "report", "--survey", "acsi-retail", "--wave", "2026Q4",
                         "-o", os.path.join(folder, "r.html"), "--database", args.database], tree, args.repeats)
    imports = _timed([sys.executable, "-c", "import analysis.report"], tree, max(5, args.repeats))
    print(f"| measure ({tree.name}) | median wall | median CPU |\n|---|---|---|")
    print(f"| `csi report` acsi-retail 2026Q4, 5 waves, 1,000 resamples/permutations | {report[0]:.1f} s | {report[1]:.1f} s |")
    print(f"| `import analysis.report` | {imports[0]:.2f} s | {imports[1]:.2f} s |")
    if tree == ROOT:
        einsum, blas = moments_speed()
        print(f"| 250 resampled covariance matrices (400 x 21): einsum | {einsum * 1e3:.1f} ms |")
        print(f"| the same through one BLAS product | {blas * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()

"""The quarterly report of the demo's latest wave: from stored analyses vs from nothing.

    .venv/bin/python bench/bench_stored_report.py [--respondents 400] [--boot 1000] [--perm 1000] [--repeat 3]
        [--modes fresh,nothing,stored] [--tree DIR]

Builds the demo database once (5 quarterly waves of each shipped questionnaire), then
times ``build_report`` + ``write_html`` of acsi-retail 2026Q4 (medians of ``--repeat``):

- before, cold: a new process computing the report in one go as before stored analyses
  (``build_report(seed=1)``: the series fitted together, nothing stored);
- from nothing, cold: a new process, nothing stored: imports, 5 wave analyses (each
  with ``--boot`` resamples, comparisons with ``--perm`` permutations, segments), the
  figures and the HTML (what the first report of a new installation costs);
- from nothing, warm: the same again in that process (its analyses and figures deleted),
  after ``warm_report_imports()`` as ``csi worker`` calls when it starts: a worker's report
  from nothing;
- from stored, cold: a new process, every wave's analysis stored (``csi report``);
- from stored, warm: the same in a process that has made a report before (a worker,
  which lives on between jobs: what the console's report button costs).

Each run is a separate process so imports are counted where they happen. Besides the wall
time, each child reports its CPU time (user + system, its own and its worker processes':
the report's second process, analysis/second_process.py), and its own alone: on a shared
machine the wall time includes waiting for a core, the CPU time does not.
``--tree`` runs the children on another checkout (``git archive <commit> | tar -x -C DIR``),
so a before/after pair comes from one script, one database and one machine; ``--modes``
picks which of the three are run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURVEY, WAVE = "acsi-retail", "2026Q4"


def _cpu(who: str = "all") -> float:
    """CPU seconds (user + system) of this process ("self"), of its ended children (the
    report's second process, the bootstrap's workers: "children"), or both ("all")."""
    import resource
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": own.ru_utime + own.ru_stime, "children": children.ru_utime + children.ru_stime,
            "all": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime}[who]


def child(mode: str, url: str, out: str, n_boot: int, n_perm: int) -> None:
    started = time.perf_counter()
    from sqlalchemy import text

    from analysis.report import build_report
    from models.storage import make_engine

    engine = make_engine(url)
    imported = time.perf_counter() - started
    times, cpus, own_cpus = [], [], []
    imported_cpu = _cpu()
    for _ in range(1 if mode == "fresh" else 2):
        if mode == "nothing":  # the second time: a worker's report from nothing (imports done, a report made)
            if times:  # as `csi worker` does when it starts (survey_app.jobs.run_worker)
                try:
                    from analysis.second_process import warm_report_imports
                except ImportError:  # a tree from before it (--tree): its worker imported nothing more
                    pass
                else:
                    warm_report_imports()
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM wave_analyses"))
                connection.execute(text("DELETE FROM report_figures"))
        start, start_cpu, start_own = time.perf_counter(), _cpu(), _cpu("self")
        if mode == "fresh":  # the report as it was made before stored analyses: all in one go, nothing kept
            report = build_report(engine, SURVEY, WAVE, n_boot=n_boot, n_perm=n_perm, seed=1)
        else:
            report = build_report(engine, SURVEY, WAVE, n_boot=n_boot, n_perm=n_perm)
        report.write_html(out)
        times.append(time.perf_counter() - start)
        cpus.append(_cpu() - start_cpu)
        own_cpus.append(_cpu("self") - start_own)
    print(json.dumps({"imports": imported, "first": times[0], "warm": times[-1] if len(times) > 1 else None,
                      "imports_cpu": imported_cpu, "first_cpu": cpus[0], "first_cpu_self": own_cpus[0],
                      "warm_cpu": cpus[-1] if len(cpus) > 1 else None, "load": os.getloadavg()[0]}))


def run_child(mode: str, url: str, out: str, n_boot: int, n_perm: int, tree: Path = ROOT) -> dict:
    start = time.perf_counter()
    # The tree first on the path, so its packages are the ones imported (not this checkout's).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, "--database", url, "--out", out,
                           "--boot", str(n_boot), "--perm", str(n_perm)], capture_output=True, text=True, cwd=tree,
                          env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    facts["process"] = wall
    return facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=400)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--perm", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="fresh,nothing,stored",
                        help="comma-separated: fresh (before stored analyses), nothing, stored")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--child")
    parser.add_argument("--database")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database, args.out, args.boot, args.perm)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    os.environ["CSI_QUEUE_NAME"] = f"bench-{uuid.uuid4().hex[:8]}"
    sys.path.insert(0, str(ROOT))
    from models.storage import make_engine
    from survey_app.demo import run_demo
    from survey_app.jobs import run_job
    job_ids, _ = run_demo(url, args.respondents, 2026, echo=lambda message: None, reports=None, n_boot=args.boot,
                          n_perm=args.perm)
    run_job(make_engine(url), job_ids[0], "bench")  # the example responses; the analyses are the children's
    out = str(folder / "report.html")
    print(f"demo database {url}: {args.respondents} respondents x 5 waves x 2 questionnaires; "
          f"{args.boot} resamples, {args.perm} permutations; {os.cpu_count()} cores")
    modes = [m for m in ("fresh", "nothing", "stored") if m in args.modes.split(",")]
    tree = args.tree.resolve()
    rows = {m: [] for m in modes}
    for k in range(args.repeat):
        for mode in modes:  # "nothing" leaves every analysis stored for "stored"
            rows[mode].append(run_child(mode, url, out, args.boot, args.perm, tree))
        print(f"  run {k + 1}: " + ", ".join(
            f"{m} {rows[m][-1]['imports'] + rows[m][-1]['first']:.2f} s (report {rows[m][-1]['first']:.2f} s, "
            f"CPU {rows[m][-1]['first_cpu']:.2f} s)" for m in modes)
            + "".join(f", {m} warm {rows[m][-1]['warm']:.2f} s (CPU {rows[m][-1]['warm_cpu']:.2f} s)"
                      for m in ("nothing", "stored") if m in rows), flush=True)
    median = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    names = {"fresh": "before: all in one go, new process", "nothing": "from nothing, new process",
             "stored": "from stored, new process"}
    loads = [r["load"] for m in modes for r in rows[m]]
    print(f"\ntree {tree}; load average (1 min) {min(loads):.1f}-{max(loads):.1f} over the runs")
    print("| how | imports: wall (CPU) | report: wall (CPU, all processes; this process alone) | total: wall (CPU) |\n"
          "|---|---|---|---|")
    for mode in modes:
        r = rows[mode]
        print(f"| {names[mode]} | {median(r, 'imports'):.2f} s ({median(r, 'imports_cpu'):.2f} s) | "
              f"{median(r, 'first'):.2f} s ({median(r, 'first_cpu'):.2f} s; {median(r, 'first_cpu_self'):.2f} s) | "
              f"{statistics.median(x['imports'] + x['first'] for x in r):.2f} s "
              f"({statistics.median(x['imports_cpu'] + x['first_cpu'] for x in r):.2f} s) |")
    for mode, name in (("nothing", "from nothing, warm process (a worker's second report)"),
                       ("stored", "from stored, warm process (a worker's second report)")):
        if mode in rows:
            r = rows[mode]
            print(f"| {name} | – | {median(r, 'warm'):.2f} s ({median(r, 'warm_cpu'):.2f} s) | {median(r, 'warm'):.2f} s |")

if __name__ == "__main__":
    main()

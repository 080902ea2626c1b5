"""Speed of the analysis engine against its peers, on this machine, in one run.

    python bench/bench_pls.py [--quick]

Measures (medians over repeats; the machine is 2 noisy cores):
1. one PLS fit of the ECSI model on mobi (250 x 24): ours vs the `plspm` package 0.5.7,
   which fails on pandas 3 and so runs in its own virtualenv (bench/.peer-venv, created
   on first use with pandas<3) through a subprocess that times it the same way;
2. 5,000 bootstrap resamples of that fit (all cores);
3. one fit on 1,000,000 simulated respondents: time and peak memory (in a child process,
   measured with ru_maxrss);
4. CB-SEM on Political Democracy: our estimator (analysis/cbsem.py) vs semopy alone.
Prints a Markdown table; paste it into docs/benchmarks.md.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reference_data import reference_file  # noqa: E402

DATA = ROOT / "tests" / "data"
PEER_VENV = ROOT / "bench" / ".peer-venv"

from analysis import PLSPM, fit  # noqa: E402
from models import parse_model  # noqa: E402


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ecsi_model_text() -> str:
    spec = json.loads((DATA / "mobi_reference.json").read_text())["model_ECSImobi"]
    text = "\n".join(f"{b} =~ {' + '.join(i)}" for b, i in spec["blocks"].items())
    return text + "\n" + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"])


PEER_SCRIPT = r'''
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import plspm.config as c
from plspm.plspm import Plspm
from plspm.scheme import Scheme
from plspm.mode import Mode
ref = json.load(open(sys.argv[1]))["model_ECSImobi"]
data = pd.read_csv(sys.argv[2])
names = list(ref["blocks"])
paths = pd.DataFrame(0, index=names, columns=names)
for s, t in ref["paths"]:
    paths.loc[t, s] = 1
def run():
    config = c.Config(paths, scaled=True)
    for block, items in ref["blocks"].items():
        config.add_lv(block, Mode.A, *[c.MV(i) for i in items])
    return Plspm(data, config, Scheme.PATH)
run()
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); result = run(); times.append(time.perf_counter() - t)
coefficient = float(result.path_coefficients().loc["Satisfaction", "Quality"])
print(json.dumps({"median": statistics.median(times), "quality_to_satisfaction": coefficient}))
'''


def plspm_peer(repeats: int) -> dict | None:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print("creating the plspm peer virtualenv (pandas<3) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pandas<3", "numpy<2.3", "plspm==0.5.7"], check=True)
    out = subprocess.run([str(python), "-c", PEER_SCRIPT, str(DATA / "mobi_reference.json"), str(reference_file("mobi.csv")),
                          str(repeats)], capture_output=True, text=True)
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        return None
    return json.loads(out.stdout)


BIG_SCRIPT = r'''
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from analysis.simulate import population, simulate
from analysis import PLSPM
from models import parse_model
model = parse_model(sys.argv[2])
paths = {p: 0.3 for p in model.paths}
pop = population(model, paths, 0.8)
data = simulate(pop, int(sys.argv[3]), seed=1, scale=(1, 10))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
results = PLSPM(model).fit(data)
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mb": peak / 1024, "data_mb": data.memory_usage().sum() / 2**20,
                  "n_used": results.n_used}))
'''


def big_fit(n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", BIG_SCRIPT, str(ROOT), ecsi_model_text(), str(n)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def semopy_comparison(repeats: int) -> tuple[float, float, float, float]:
    import warnings

    import semopy

    from analysis.cbsem import semopy_description
    warnings.simplefilter("ignore")
    ref = json.loads((DATA / "political_democracy_reference.json").read_text())
    data = pd.read_csv(reference_file("political_democracy.csv"))
    model = parse_model(ref["model"])
    description = semopy_description(model)

    def alone():
        m = semopy.Model(description)
        m.fit(data, obj="MLW", options={"ftol": 1e-12, "maxiter": 10000})
        semopy.calc_stats(m)
        m.inspect(std_est=True)
        return m

    def ours():
        return fit(model, data, method="cbsem")

    # Interleave so drift on a noisy machine hits both alike.
    a, b = [], []
    for _ in range(repeats):
        a.append(median_time(alone, 1))
        b.append(median_time(ours, 1))
    chi_alone = semopy.calc_stats(alone()).iloc[0]["chi2"]
    return statistics.median(a), statistics.median(b), float(chi_alone), ours().fit["chi2"]


def main() -> None:
    quick = "--quick" in sys.argv
    repeats = 5 if quick else 30
    model = parse_model(ecsi_model_text())
    mobi = pd.read_csv(reference_file("mobi.csv"))
    fit(model, mobi)  # warm-up (imports, caches)
    ours_fit = median_time(lambda: PLSPM(model).fit(mobi), repeats * 3)
    peer = plspm_peer(repeats)
    boot_times = [median_time(lambda: PLSPM(model, n_boot=5000, seed=s, progress=False).fit(mobi), 1)
                  for s in range(3 if quick else 7)]
    boot = statistics.median(boot_times)
    big_n = 100_000 if quick else 1_000_000
    big = big_fit(big_n)
    alone, wrapped, chi_alone, chi_ours = semopy_comparison(5 if quick else 20)
    rows = [
        ("PLS fit, ECSI model on mobi (250 x 24), from a DataFrame", f"{ours_fit * 1000:.2f} ms",
         f"plspm 0.5.7: {peer['median'] * 1000:.1f} ms" if peer else "plspm: unavailable",
         f"{peer['median'] / ours_fit:.0f}x faster" if peer else ""),
        ("5,000 bootstrap resamples of that fit (2 processes)", f"{boot:.2f} s", "target < 3 s",
         f"{5000 / boot:.0f} resamples/s"),
        (f"PLS fit on {big_n:,} respondents (1-10 answers)", f"{big['seconds']:.2f} s",
         f"peak RSS {big['peak_mb']:.0f} MB (data {big['data_mb']:.0f} MB)", "target: seconds, < 2 GB"),
        ("CB-SEM Political Democracy (fit + fit indices + estimates)", f"{wrapped * 1000:.1f} ms",
         f"semopy alone: {alone * 1000:.1f} ms", f"wrapper overhead {100 * (wrapped / alone - 1):+.1f} %"),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}; {'quick' if quick else 'full'} run")
    if peer:
        print(f"check: plspm Quality->Satisfaction {peer['quality_to_satisfaction']:.6f}; "
              f"chi2 semopy {chi_alone:.4f} vs ours {chi_ours:.4f}")
    print("\n| what | ours | peer / target | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

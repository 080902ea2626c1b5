"""Nonparametric bootstrap of a PLS fit: seeded, parallel, batched.

Resamples are drawn in fixed chunks, each from its own child of one
``numpy.random.SeedSequence(seed)``; chunk k always gets the k-th child whatever the
number of worker processes, so results depend only on the seed, and no two chunks
share a stream (every resample is distinct across workers). Each chunk turns its
resamples into multiplicity counts, computes all resampled covariance matrices at
once and iterates PLS on the whole batch together.

Failed resamples (no convergence, singular matrices) are counted and reported,
never silently dropped.
"""
from __future__ import annotations

import functools
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Callable, Mapping

import multiprocessing as mp
import numpy as np
import pandas as pd

from . import plsc
from . import statistics as st
from .layout import Layout
from .pls_core import run

CHUNK = 250


@dataclass(frozen=True)
class BootstrapResult:
    """``samples`` (n_ok, K) of the statistics labelled by ``labels``; intervals per label."""

    n_requested: int
    n_ok: int
    failures: Mapping[str, int]
    seed: int
    level: float
    labels: tuple[tuple[str, str, str], ...]
    samples: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    percentile: np.ndarray = field(repr=False)   # (K, 2)
    bca: np.ndarray = field(repr=False)          # (K, 2)
    se: np.ndarray = field(repr=False)           # (K,)
    seconds: float = 0.0

    @property
    def n_failed(self) -> int:
        return self.n_requested - self.n_ok

    def to_frame(self) -> pd.DataFrame:
        index = pd.MultiIndex.from_tuples(self.labels, names=["kind", "a", "b"])
        valid = np.isfinite(self.samples).sum(axis=0)
        return pd.DataFrame({
            "estimate": self.estimate, "boot_mean": np.nanmean(self.samples, axis=0) if self.n_ok else np.nan,
            "se": self.se, "pct_low": self.percentile[:, 0], "pct_high": self.percentile[:, 1],
            "bca_low": self.bca[:, 0], "bca_high": self.bca[:, 1], "n_valid": valid,
        }, index=index)

    def lookup(self, kind: str, a: str, b: str = "") -> dict:
        n = self.labels.index((kind, a, b))
        return {"se": float(self.se[n]), "pct": tuple(map(float, self.percentile[n])),
                "bca": tuple(map(float, self.bca[n]))}


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, label: str, callback: Callable[[int, int], None] | None, enabled: bool | None):
        self.total = total
        self.label = label
        self.callback = callback
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done = 0

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.callback:
            self.callback(self.done, self.total)
        if self.enabled:
            fraction = self.done / self.total
            bar = "#" * int(30 * fraction)
            elapsed = time.perf_counter() - self.start
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total} {elapsed:5.1f}s")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _chunk_task(args):
    X, layout, scheme, scaled, tol, max_iter, low, span, seed_seq, size, *rest = args
    weights = rest[0] if rest else None
    rng = np.random.default_rng(seed_seq)
    n = X.shape[0]
    draws = rng.integers(0, n, size=(size, n))
    counts = np.bincount((draws + n * np.arange(size)[:, None]).ravel(), minlength=size * n).reshape(size, n).astype(float)
    if weights is not None:
        # Weighted PLS: a resampled row carries its weight (Becker & Ismail 2016), so the
        # resample's moments are those of multiplicity x weight.
        counts *= weights
    return _evaluate(X, counts, layout, scheme, scaled, tol, max_iter, low, span)


# What every task of one bootstrap shares (X, layout, options), handed to each pool worker
# once when it starts (inherited through fork, no pickling there) instead of pickled into
# every task; tasks then carry only their seed and size.
_shared: tuple | None = None


def _share(shared: tuple) -> None:
    """Pool initializer: keep the shared arguments and run BLAS on one thread for good."""
    global _shared
    _shared = shared
    _blas().limit(limits=1, user_api="blas")  # this worker's whole life: no context per task


def _shared_chunk(seed_seq, size: int):
    return _chunk_task(_shared[:8] + (seed_seq, size, _shared[8]))


def _shared_jackknife():
    return _jackknife(*_shared)


@functools.cache
def _blas():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def single_blas_thread():
    """A context in which BLAS runs on one thread in this process.

    PLS works on small matrices (p x p, p ~ 20-50): a second BLAS thread only adds
    synchronisation, which on a busy machine cost far more than the product itself
    (docs/benchmarks.md, "Quarterly report"). Parallelism comes from the bootstrap's worker
    processes instead.
    """
    return _blas().limit(limits=1, user_api="blas")


def _evaluate(X, counts, layout: Layout, scheme, scaled, tol, max_iter, low, span, needed=None):
    with single_blas_thread():
        return _evaluate_batch(X, counts, layout, scheme, scaled, tol, max_iter, low, span, needed)


def _evaluate_batch(X, counts, layout: Layout, scheme, scaled, tol, max_iter, low, span, needed=None):
    mom = st.moments_from_counts(X, counts)
    degenerate = ~(mom.sd > 0).all(axis=1)
    first_stage = np.zeros_like(degenerate)
    if layout.interactions is not None:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mom, first_stage = layout.interactions.transform(mom)
        degenerate |= ~(mom.sd > 0).all(axis=1)
    # Degenerate members are kept computable and then reported as failures, not warned about.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        S = mom.corr if scaled else mom.cov
        S = np.where(degenerate[:, None, None], np.eye(S.shape[1]), S)  # keep the batch computable
        if hasattr(layout, "run_batch"):  # higher-order constructs: both stages (analysis.hoc)
            core = layout.run_batch(S, mom, scheme, scaled, tol, max_iter)
        else:
            core = run(S, layout.structure, scheme, tol, max_iter)
        plan = layout.interactions
        if layout.consistent:
            core = plsc.correct(core, S, layout.structure, composites=plan.constructs if plan is not None else ())
        if plan is not None:
            from .moderation import rescale_paths
            core = rescale_paths(plan, core, mom, counts.sum(axis=1))
        values = layout.compute(core, mom, scaled, low, span, needed=needed)
    status = np.where(first_stage, 5, np.where(degenerate, 2, np.where(~core.converged, 1, np.where(~core.ok, 3, 0))))
    if layout.consistent:
        # Inadmissible resamples are dropped and counted, as cSEM's default (handle_inadmissibles="drop").
        status = np.where((status == 0) & core.inadmissible.any(axis=1), 4, status)
    return values, status


FAILURE_NAMES = {1: "did not converge", 2: "an item was constant in the resample", 3: "singular or non-finite estimates",
                 4: "inadmissible PLSc solution", 5: "the two-stage interaction's first stage failed"}


def bootstrap(X: np.ndarray, layout: Layout, estimate: np.ndarray, *, scheme: str, scaled: bool, tol: float,
              max_iter: int, low: np.ndarray, span: np.ndarray, n_boot: int = 5000, seed: int = 0,
              level: float = 0.95, workers: int | None = None, progress: bool | None = None,
              on_progress: Callable[[int, int], None] | None = None,
              weights: np.ndarray | None = None) -> BootstrapResult:
    """Bootstrap ``n_boot`` resamples of the rows of ``X`` (n, p) and summarize.

    ``weights`` (n,): respondent weights; rows are resampled with equal probability and
    each drawn row keeps its weight (the jackknife for BCa deletes weighted rows alike)."""
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    started = time.perf_counter()
    n, p = X.shape
    # Keep each chunk's (size, n, p) temporaries near 200 MB for large n.
    chunk = max(1, min(CHUNK, int(2.5e7 // max(1, n * p))))
    sizes = [chunk] * (n_boot // chunk) + ([n_boot % chunk] if n_boot % chunk else [])
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    shared = (X, layout, scheme, scaled, tol, max_iter, low, span, weights)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(sizes)))
    bar = _Progress(n_boot, "bootstrap", on_progress, progress)
    outputs = []
    if workers == 1:
        for child, size in zip(children, sizes):
            outputs.append(_chunk_task(shared[:8] + (child, size, weights)))
            bar.advance(size)
        jack = _jackknife(*shared)
    else:
        _blas()  # built once here and inherited by the forked workers (it scans the loaded libraries)
        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_share,
                                 initargs=(shared,)) as pool:
            # The BCa jackknife (about one chunk of work) runs in the pool too, queued first, so
            # it overlaps the resamples instead of following them in this process.
            jackknife = pool.submit(_shared_jackknife)
            for size, output in zip(sizes, pool.map(_shared_chunk, children, sizes)):
                outputs.append(output)
                bar.advance(size)
            jack = jackknife.result()
    values = np.concatenate([o[0] for o in outputs])
    status = np.concatenate([o[1] for o in outputs])
    failures = {FAILURE_NAMES[code]: int((status == code).sum()) for code in FAILURE_NAMES if (status == code).any()}
    samples = values[status == 0]
    percentile, bca, se = _intervals(samples, estimate, level, jack)
    return BootstrapResult(n_boot, int(samples.shape[0]), failures, seed, level, layout.labels, samples, estimate,
                           percentile, bca, se, time.perf_counter() - started)


JACKKNIFE_GROUPS = 1000
JACKKNIFE_SEED = 20260101  # fixed: the groups, hence BCa intervals, are the same on every run


def jackknife_groups(n: int) -> np.ndarray:
    """Group label (0 .. groups-1) of each of ``n`` rows: delete-one (label = row) up to 1000
    rows; above, 1000 groups of n//1000 or n//1000 + 1 rows drawn at random with a fixed seed.
    Random, not contiguous: data arrive sorted (by date, region, score), and deleting a block
    of similar respondents biases the BCa acceleration (on 2000 rows sorted by satisfaction,
    a path's acceleration: delete-one -0.00039, contiguous groups +0.00251, random +0.00036)."""
    if n <= JACKKNIFE_GROUPS:
        return np.arange(n)
    balanced = np.arange(n) * JACKKNIFE_GROUPS // n
    return np.random.default_rng(JACKKNIFE_SEED).permutation(balanced)


def _jackknife(X, layout, scheme, scaled, tol, max_iter, low, span, weights=None) -> np.ndarray:
    """Jackknife values (groups, K): delete-one for n <= 1000, else delete-group over the
    random groups of :func:`jackknife_groups` (the usual large-n approximation for the BCa
    acceleration)."""
    n = X.shape[0]
    labels = jackknife_groups(n)
    groups = int(labels.max()) + 1
    out = []
    for start in range(0, groups, CHUNK):
        members = np.arange(start, min(groups, start + CHUNK))
        counts = (labels[None, :] != members[:, None]).astype(float)
        if weights is not None:
            counts *= weights
        values, status = _evaluate(X, counts, layout, scheme, scaled, tol, max_iter, low, span)
        values[status != 0] = np.nan
        out.append(values)
    return np.concatenate(out)


def _intervals(samples, estimate, level, jack):
    """Percentile and BCa intervals and standard errors (K, 2), (K, 2), (K,) from the
    resampled values ``samples`` (n_ok, K) and the jackknife values ``jack`` (groups, K)."""
    K = samples.shape[1]
    alpha = (1 - level) / 2
    # The standard normal from the standard library: scipy.stats costs a second to import.
    normal = NormalDist()
    ppf = np.vectorize(normal.inv_cdf, otypes=[float])
    cdf = np.vectorize(normal.cdf, otypes=[float])
    if samples.shape[0] < 2:
        nan = np.full((K, 2), np.nan)
        return nan, nan.copy(), np.full(K, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (no index defined) stays NaN
        se = np.nanstd(samples, axis=0, ddof=1)
        percentile = _nan_quantiles(samples, [alpha, 1 - alpha])
        # BCa (Efron 1987), every column at once: the bias correction z0 from the share of
        # resamples below the estimate, the acceleration a from the jackknife's skewness.
        finite = np.isfinite(samples)
        n_ok = finite.sum(axis=0)
        below = ((samples < estimate).sum(axis=0) + 0.5 * (samples == estimate).sum(axis=0)) / np.maximum(n_ok, 1)
        jack_finite = np.isfinite(jack)
        n_jack = jack_finite.sum(axis=0)
        jack_mean = np.where(jack_finite, jack, 0.0).sum(axis=0) / np.maximum(n_jack, 1)
        d = np.where(jack_finite, jack_mean - jack, 0.0)
        denominator = 6 * ((d ** 2).sum(axis=0) ** 1.5)
        a = np.where(denominator > 0, (d ** 3).sum(axis=0) / np.where(denominator > 0, denominator, 1.0), 0.0)
        usable = (n_ok >= 2) & np.isfinite(estimate) & (n_jack >= 3) & (below > 0) & (below < 1)
        bca = np.full((K, 2), np.nan)
        if usable.any():
            z0 = ppf(below[usable])[:, None]
            z = ppf([alpha, 1 - alpha])[None, :]
            adjusted = cdf(z0 + (z0 + z) / (1 - a[usable, None] * (z0 + z)))
            bca[usable] = _column_quantiles(samples[:, usable], n_ok[usable], adjusted)
    return percentile, bca, se


def _column_quantiles(samples: np.ndarray, n_finite: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` (K, m) of each column of ``samples`` (n, K) over its ``n_finite`` (K,)
    finite values: for every k, ``np.quantile(finite values of column k, q[k])`` (numpy's
    default "linear" method, the same arithmetic, so the same numbers), but one sort for
    all columns instead of a Python step per column."""
    ordered = np.sort(samples, axis=0)  # NaN sorts last, so column k's finite values come first
    position = q * (n_finite[:, None] - 1)
    below = np.floor(position)
    gamma = position - below
    low = below.astype(int)
    high = np.minimum(low + 1, n_finite[:, None] - 1)
    columns = np.arange(samples.shape[1])[:, None]
    a, b = ordered[low, columns], ordered[high, columns]
    # numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on.
    difference = b - a
    return np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)


def _nan_quantiles(samples: np.ndarray, q: list[float]) -> np.ndarray:
    """np.nanquantile(samples, q, axis=0).T (K, len(q)), the same numbers, faster: complete
    columns in one vectorized np.quantile (nanquantile goes column by column in Python as
    soon as any column holds a NaN, as an undefined index in some resamples does)."""
    out = np.empty((samples.shape[1], len(q)))
    complete = ~np.isnan(samples).any(axis=0)
    out[complete] = np.quantile(samples[:, complete], q, axis=0).T
    if not complete.all():
        out[~complete] = np.nanquantile(samples[:, ~complete], q, axis=0).T
    return out
